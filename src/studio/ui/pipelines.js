// Pipelines, executions (DAG, live status, step details, start / stop / retry) and lineage.
import {get, post} from './api.js';
import {h, clear, table, statusBadge, link, fmt, pre, enc} from './dom.js';
import {drawGraph} from './graph.js';

const TERMINAL = new Set(['Succeeded', 'Failed', 'Stopped']);
const POLL_MS = 1000;

export async function pipelineList() {
  const {pipelines} = await get('/api/pipelines');
  return h('section', null, h('h1', null, 'Pipelines'),
    pipelines.length === 0 ? h('p', {class: 'empty'},
      'No pipelines yet: raypipe pipeline upsert FILE, or raypipe pipeline run FILE.') :
    table([
      {title: 'Name', value: (p) => link('#/pipelines/' + enc(p.PipelineName), p.PipelineName)},
      {title: 'Source', value: (p) => p.SourceName},
      {title: 'Updated', value: (p) => p.LastModifiedTime},
      {title: 'Last execution', value: (p) => p.LastExecution ?
        h('span', null, statusBadge(p.LastExecution.PipelineExecutionStatus), ' ',
          link('#/executions/' + enc(p.LastExecution.PipelineExecutionId),
               p.LastExecution.PipelineExecutionId)) : '—'},
    ], pipelines, {id: 'pipelines'}));
}

function dagGraph(dag, onSelect) {
  const nodes = dag.nodes.map((n) => ({
    id: n.name, label: n.display_name || n.name,
    sublabel: n.type + (n.status ? ' · ' + n.status : '') + (n.cache_hit ? ' · cached' : ''),
    title: n.name + ' (' + n.type + ')' + (n.description ? ': ' + n.description : ''),
    className: 'dag-node status-' + (n.status || 'None'),
    data: {step: n.name, status: n.status || 'None', type: n.type},
  }));
  return drawGraph(nodes, dag.edges, {onSelect, className: 'graph dag'});
}

export async function pipelineView(ctx, name) {
  const p = await get('/api/pipelines/' + enc(name));
  const inputs = p.Parameters.map((parameter) => h('label', null,
    h('span', null, parameter.Name + ' (' + parameter.Type + ')'),
    h('input', {name: parameter.Name, 'data-parameter': parameter.Name,
                placeholder: parameter.DefaultValue === null ? 'required' : fmt(parameter.DefaultValue)})));
  const form = h('form', {id: 'start-form', class: 'start-form'}, inputs,
    h('button', {type: 'submit', id: 'start-execution'}, 'Start execution'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const parameters = {};
    for (const input of form.querySelectorAll('input[data-parameter]')) {
      if (input.value !== '') parameters[input.dataset.parameter] = input.value;
    }
    try {
      const started = await post('/api/pipelines/' + enc(name) + '/executions', {parameters});
      location.hash = '#/executions/' + enc(started.PipelineExecutionId);
    } catch (error) { ctx.showError(error); }
  });
  const executions = await get('/api/executions?limit=20&pipeline=' + enc(name));
  return h('section', null, h('h1', null, 'Pipeline ', h('span', {class: 'name'}, p.PipelineName)),
    h('p', {class: 'muted'}, p.SourceName + ' · updated ' + p.LastModifiedTime),
    h('h2', null, 'DAG'), h('div', {class: 'scroll'}, dagGraph(p.dag, null)),
    h('h2', null, 'Start an execution'), form,
    h('h2', null, 'Recent executions'), executionTable(executions.executions),
    h('details', null, h('summary', null, 'Definition'), pre(p.DefinitionText)));
}

function executionTable(executions) {
  if (!executions.length) return h('p', {class: 'empty'}, 'No executions.');
  return table([
    {title: 'Execution', value: (e) => link('#/executions/' + enc(e.PipelineExecutionId),
                                             e.PipelineExecutionId)},
    {title: 'Pipeline', value: (e) => link('#/pipelines/' + enc(e.PipelineName), e.PipelineName)},
    {title: 'Status', value: (e) => statusBadge(e.PipelineExecutionStatus)},
    {title: 'Started', value: (e) => e.StartTime},
    {title: 'Ended', value: (e) => e.EndTime || '—'},
    {title: 'Failure', value: (e) => e.FailureReason || ''},
  ], executions, {id: 'executions'});
}

export async function executionList() {
  const {executions} = await get('/api/executions?limit=200');
  return h('section', null, h('h1', null, 'Executions'), executionTable(executions));
}

async function stepDetails(ctx, id, stepName, panel) {
  clear(panel).append(h('p', null, 'Loading ' + stepName + '…'));
  try {
    const base = '/api/executions/' + enc(id) + '/steps/' + enc(stepName);
    const step = await get(base);
    let log = {text: ''};
    if (step.HasLog) {
      try { log = await get(base + '/logs'); } catch (error) { log = {text: String(error.message)}; }
    }
    const explanation = step.CacheExplanation || {};
    const metrics = Object.entries(step.Metrics || {});
    clear(panel).append(
      h('h2', null, 'Step ', h('span', {class: 'name', id: 'step-name'}, step.StepName), ' ',
        statusBadge(step.StepStatus)),
      h('dl', {class: 'facts'},
        h('dt', null, 'Type'), h('dd', null, step.StepType),
        h('dt', null, 'Attempts'), h('dd', null, fmt(step.AttemptCount)),
        h('dt', null, 'Started'), h('dd', null, step.StartTime || '—'),
        h('dt', null, 'Ended'), h('dd', null, step.EndTime || '—'),
        h('dt', null, 'Failure'), h('dd', null, step.FailureReason || '—'),
        h('dt', null, 'Cache'), h('dd', {id: 'cache-result'},
          (explanation.Result || (step.CacheHit ? 'Hit' : 'not cached')) +
          (explanation.Reason ? ': ' + explanation.Reason : ''))),
      h('h3', null, 'Arguments'), pre(step.Arguments),
      h('h3', null, 'Metrics'), metrics.length ?
        table([{title: 'Metric', value: (m) => m[0]}, {title: 'Value', value: (m) => fmt(m[1])}],
              metrics) : h('p', {class: 'empty'}, 'none'),
      h('h3', null, 'Cache explanation'), pre(explanation),
      h('h3', null, 'Properties'), pre(step.Properties),
      h('h3', null, 'Log' + (log.truncated ? ' (last part)' : '')),
      h('pre', {class: 'log', id: 'step-log'}, log.text || '(empty)'));
  } catch (error) {
    clear(panel);
    ctx.showError(error);
  }
}

export async function executionView(ctx, id) {
  const root = h('section', {id: 'execution', 'data-id': id});
  const header = h('div');
  const graphBox = h('div', {class: 'scroll', id: 'dag'});
  const steps = h('div');
  const panel = h('aside', {class: 'panel', id: 'step-panel'});
  let selected = null;
  const select = (node) => { selected = node.id; stepDetails(ctx, id, node.id, panel); };

  const action = (label, verb) => h('button', {id: verb + '-execution', onclick: async () => {
    try { await post('/api/executions/' + enc(id) + '/' + verb); await refresh(); }
    catch (error) { ctx.showError(error); }
  }}, label);

  async function refresh() {
    const e = await get('/api/executions/' + enc(id));
    root.dataset.status = e.PipelineExecutionStatus;
    clear(header).append(...[
      h('h1', null, 'Execution ', h('span', {class: 'name'}, e.PipelineExecutionId), ' ',
        h('span', {id: 'execution-status'}, statusBadge(e.PipelineExecutionStatus))),
      h('p', {class: 'muted'}, 'Pipeline ', link('#/pipelines/' + enc(e.PipelineName), e.PipelineName),
        ' · started ' + e.StartTime + (e.EndTime ? ' · ended ' + e.EndTime : '')),
      e.FailureReason ? h('p', {class: 'failure'}, e.FailureReason) : null,
      h('p', {class: 'actions'},
        link('#/executions/' + enc(id) + '/lineage', 'Lineage'), ' ',
        TERMINAL.has(e.PipelineExecutionStatus) ? null : action('Stop', 'stop'),
        e.PipelineExecutionStatus === 'Failed' || e.PipelineExecutionStatus === 'Stopped' ?
          action('Retry', 'retry') : null),
      h('h2', null, 'Parameters'), pre(e.Parameters)].filter(Boolean));
    clear(graphBox).append(dagGraph(e.dag, select));
    clear(steps).append(h('h2', null, 'Steps'), table([
      {title: 'Step', value: (r) => h('button', {class: 'linklike', type: 'button',
                                            onclick: () => select({id: r.StepName})}, r.StepName)},
      {title: 'Type', value: (r) => r.StepType},
      {title: 'Status', value: (r) => statusBadge(r.StepStatus)},
      {title: 'Attempts', value: (r) => fmt(r.AttemptCount)},
      {title: 'Cache', value: (r) => r.CacheHit ? 'hit' : ''},
      {title: 'Failure', value: (r) => r.FailureReason},
    ], e.steps, {id: 'steps'}));
    if (selected && !TERMINAL.has(e.PipelineExecutionStatus)) stepDetails(ctx, id, selected, panel);
    return e;
  }

  const first = await refresh();
  root.append(header, h('div', {class: 'split'}, h('div', null, graphBox, steps), panel));
  // Live: poll until the execution ends (and once more after, for the last step's record).
  const poll = async (wasTerminal) => {
    if (!ctx.alive()) return;
    try {
      const e = await refresh();
      if (TERMINAL.has(e.PipelineExecutionStatus) && wasTerminal) return;
      setTimeout(() => poll(TERMINAL.has(e.PipelineExecutionStatus)), POLL_MS);
    } catch (error) { ctx.showError(error); }
  };
  if (!TERMINAL.has(first.PipelineExecutionStatus)) setTimeout(() => poll(false), POLL_MS);
  return root;
}

export async function lineageView(ctx, id) {
  const graph = await get('/api/executions/' + enc(id) + '/lineage');
  const panel = h('aside', {class: 'panel', id: 'lineage-panel'});
  const nodes = graph.nodes.map((n) => ({
    id: n.id, label: n.label || n.kind, sublabel: n.kind + (n.status ? ' · ' + n.status : '') +
      (n.digest ? ' · ' + n.digest.slice(7, 19) : ''),
    title: n.uri || n.id, className: 'lineage-node kind-' + n.kind.replace(/[^A-Za-z]/g, ''),
    data: {kind: n.kind, node: n.id}, raw: n,
  }));
  const show = (node) => {
    clear(panel).append(h('h2', null, node.raw.kind + ' ', h('span', {class: 'name'}, node.raw.label)),
                        pre(node.raw));
    if (node.raw.kind === 'ModelPackage') {
      panel.append(link('#/registry/' + enc(node.raw.group), 'Open in the registry'));
    }
  };
  return h('section', {id: 'lineage'},
    h('h1', null, 'Lineage of ', link('#/executions/' + enc(id), id)),
    h('p', {class: 'muted'}, 'From the raw data through each step to the registered model ' +
      'and the endpoints that serve it.'),
    graph.nodes.length ? h('div', {class: 'split'},
      h('div', {class: 'scroll'}, drawGraph(nodes, graph.edges, {onSelect: show,
                                                                 className: 'graph lineage'})),
      panel) : h('p', {class: 'empty'}, 'No lineage recorded.'));
}
