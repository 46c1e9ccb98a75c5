// The studio's single page: hash routes -> views. Each view fetches from /api and renders with
// dom.js (text nodes only). The execution view polls while the execution runs.
import {get, initToken} from './api.js';
import {h, clear} from './dom.js';
import * as pipelines from './pipelines.js';
import * as models from './models.js';

const routes = [
  [/^#?\/?$/, pipelines.pipelineList],
  [/^#\/pipelines$/, pipelines.pipelineList],
  [/^#\/pipelines\/([^/]+)$/, pipelines.pipelineView],
  [/^#\/executions$/, pipelines.executionList],
  [/^#\/executions\/([^/]+)$/, pipelines.executionView],
  [/^#\/executions\/([^/]+)\/lineage$/, pipelines.lineageView],
  [/^#\/experiments$/, models.experimentList],
  [/^#\/experiments\/([^/]+)$/, models.experimentView],
  [/^#\/runs\/([^/]+)$/, models.runView],
  [/^#\/compare\/([^/]+)$/, models.compareView],
  [/^#\/tuning$/, models.tuningList],
  [/^#\/tuning\/([^/]+)\/([^/]+)$/, models.tuningView],
  [/^#\/registry$/, models.registryView],
  [/^#\/registry\/([^/]+)$/, models.groupView],
  [/^#\/endpoints$/, models.endpointList],
  [/^#\/endpoints\/([^/]+)$/, models.endpointView],
  [/^#\/features$/, models.featureList],
  [/^#\/features\/([^/]+)$/, models.featureView],
];

// Each render gets a fresh context; a view that polls checks `ctx.alive()` so that leaving the
// page stops its timer.
let generation = 0;

export function showError(error) {
  const box = document.getElementById('error');
  if (!error) { box.hidden = true; clear(box); return; }
  clear(box).append(String(error.message || error));
  box.hidden = false;
}

async function render() {
  const mine = ++generation;
  const view = document.getElementById('view');
  showError(null);
  const hash = location.hash || '#/';
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', hash.startsWith(link.getAttribute('href')));
  }
  for (const [pattern, handler] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    const args = match.slice(1).map(decodeURIComponent);
    const ctx = {alive: () => mine === generation, rerender: render, showError};
    try {
      const node = await handler(ctx, ...args);
      if (ctx.alive()) clear(view).append(node);
    } catch (error) {
      if (ctx.alive()) {
        clear(view).append(h('p', {class: 'empty'}, 'Could not load this page.'));
        showError(error);
      }
    }
    return;
  }
  clear(view).append(h('p', {class: 'empty'}, 'No page at ' + hash));
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', () => {
  initToken();
  get('/api/health').then((health) => {
    if (health.token_required) document.body.classList.add('token-required');
  }).catch(() => {});
  render();
});
