// Experiments (metric charts, comparison), tuning jobs (convergence), the model registry
// (approve / reject), endpoints and feature groups.
import {get, post} from './api.js';
import {h, clear, table, statusBadge, link, fmt, pre, enc} from './dom.js';
import {lineChart} from './charts.js';

export async function experimentList() {
  const {experiments} = await get('/api/experiments');
  return h('section', null, h('h1', null, 'Experiments'),
    experiments.length === 0 ? h('p', {class: 'empty'}, 'No experiments yet.') :
    table([
      {title: 'Name', value: (e) => link('#/experiments/' + enc(e.ExperimentName), e.ExperimentName)},
      {title: 'Runs', value: (e) => fmt(e.RunCount)},
      {title: 'Created', value: (e) => e.CreationTime},
      {title: 'Description', value: (e) => e.Description},
    ], experiments, {id: 'experiments'}));
}

export async function experimentView(ctx, name) {
  const {runs} = await get('/api/experiments/' + enc(name) + '/runs');
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.final_metrics || {})))].sort();
  const compare = h('button', {id: 'compare-runs', onclick: () => {
    const chosen = [...document.querySelectorAll('input[data-run]:checked')].map((c) => c.dataset.run);
    if (chosen.length < 2) { ctx.showError(new Error('Choose at least two runs to compare.')); return; }
    location.hash = '#/compare/' + chosen.map(enc).join(',');
  }}, 'Compare selected');
  return h('section', null, h('h1', null, 'Experiment ', h('span', {class: 'name'}, name)),
    table([
      {title: '', value: (r) => h('input', {type: 'checkbox', 'data-run': r.RunId})},
      {title: 'Run', value: (r) => link('#/runs/' + enc(r.RunId), r.RunName || r.RunId)},
      {title: 'Status', value: (r) => statusBadge(r.Status)},
      {title: 'Source', value: (r) => [r.Source && r.Source.Kind, r.Source && r.Source.StepName]
        .filter(Boolean).join(' · ')},
      ...metricNames.map((m) => ({title: m, value: (r) => fmt((r.final_metrics || {})[m])})),
    ], runs, {id: 'runs'}), h('p', null, compare));
}

async function seriesOf(runId, metric) {
  const {points} = await get('/api/runs/' + enc(runId) + '/metrics/' + enc(metric));
  return points.map((p) => ({x: p.step, y: p.value}));
}

export async function runView(ctx, id) {
  const run = await get('/api/runs/' + enc(id));
  const charts = await Promise.all(run.metrics.map(async (m) =>
    h('div', {class: 'chart-cell'}, h('h3', null, m.name),
      lineChart([{name: m.name, points: await seriesOf(id, m.name)}],
                {xLabel: 'iteration', yLabel: m.name}))));
  return h('section', null, h('h1', null, 'Run ', h('span', {class: 'name'}, run.RunName || id), ' ',
      statusBadge(run.Status)),
    h('p', {class: 'muted'}, 'Experiment ', link('#/experiments/' + enc(run.ExperimentName), run.ExperimentName)),
    h('h2', null, 'Parameters'), pre(run.Parameters),
    h('h2', null, 'Metrics'), table([
      {title: 'Metric', value: (m) => m.name}, {title: 'Last', value: (m) => fmt(m.last)},
      {title: 'Min', value: (m) => fmt(m.min)}, {title: 'Max', value: (m) => fmt(m.max)},
      {title: 'Points', value: (m) => fmt(m.count)}], run.metrics),
    h('div', {class: 'charts'}, charts));
}

export async function compareView(ctx, ids) {
  const comparison = await get('/api/compare?runs=' + enc(ids));
  const runs = comparison.runs;
  const cell = (values, best, runId) => h('td', {class: best === runId ? 'best' : null},
    fmt(values[runId]) + (best === runId ? ' ★' : ''));
  const head = h('tr', null, h('th', null, ''), runs.map((r) => h('th', null, r.RunName || r.RunId)));
  const rows = [
    ...comparison.parameters.map((p) => h('tr', null, h('th', null, p.name),
      runs.map((r) => cell(p.values, null, r.RunId)))),
    ...comparison.metrics.map((m) => h('tr', null, h('th', null, m.name + ' (' + m.goal + ')'),
      runs.map((r) => cell(m.values, m.best, r.RunId)))),
  ];
  const charts = await Promise.all(comparison.metrics.map(async (m) =>
    h('div', {class: 'chart-cell'}, h('h3', null, m.name), lineChart(
      await Promise.all(runs.map(async (r) => ({name: r.RunName || r.RunId,
                                                 points: await seriesOf(r.RunId, m.name)}))),
      {xLabel: 'iteration', yLabel: m.name}))));
  return h('section', null, h('h1', null, 'Compare runs'),
    h('table', {id: 'comparison'}, h('thead', null, head), h('tbody', null, rows)),
    h('div', {class: 'charts'}, charts));
}

export async function tuningList() {
  const jobs = (await get('/api/tuning-jobs')).tuning_jobs;
  return h('section', null, h('h1', null, 'Tuning jobs'),
    jobs.length === 0 ? h('p', {class: 'empty'}, 'No tuning jobs yet.') : table([
      {title: 'Job', value: (j) => link('#/tuning/' + enc(j.execution_id) + '/' + enc(j.step_name),
                                        j.step_name + ' of ' + j.execution_id)},
      {title: 'Experiment', value: (j) => link('#/experiments/' + enc(j.experiment), j.experiment)},
      {title: 'Trials', value: (j) => fmt(j.trial_count)},
    ], jobs, {id: 'tuning-jobs'}));
}

export async function tuningView(ctx, execution, step) {
  const job = await get('/api/tuning-jobs/' + enc(execution) + '/' + enc(step));
  const trials = job.trials;
  const chart = lineChart([
    {name: job.objective_metric + ' per trial', markers: true,
     points: trials.map((t) => ({x: t.index + 1, y: t.objective}))},
    {name: 'best so far', dashed: true,
     points: trials.map((t) => ({x: t.index + 1, y: t.best_so_far}))},
  ], {xLabel: 'trial', yLabel: job.objective_metric, className: 'chart convergence'});
  const parameterNames = [...new Set(trials.flatMap((t) => Object.keys(t.parameters || {})))].sort();
  return h('section', null,
    h('h1', null, 'Tuning job ', h('span', {class: 'name'}, step)),
    h('p', {class: 'muted'}, 'Execution ', link('#/executions/' + enc(execution), execution),
      ' · objective ' + job.objective_metric + ' (' + job.goal + ') · best ' + fmt(job.best)),
    chart,
    table([
      {title: '#', value: (t) => fmt(t.index + 1)},
      {title: 'Run', value: (t) => link('#/runs/' + enc(t.run_id), t.name || t.run_id)},
      {title: 'Status', value: (t) => statusBadge(t.status)},
      {title: job.objective_metric, value: (t) => fmt(t.objective)},
      ...parameterNames.map((p) => ({title: p, value: (t) => fmt((t.parameters || {})[p])})),
    ], trials, {id: 'trials'}));
}

export async function registryView() {
  const groups = (await get('/api/model-groups')).model_package_groups;
  return h('section', null, h('h1', null, 'Model registry'),
    groups.length === 0 ? h('p', {class: 'empty'}, 'No model package groups yet.') : table([
      {title: 'Group', value: (g) => link('#/registry/' + enc(g.ModelPackageGroupName),
                                          g.ModelPackageGroupName)},
      {title: 'Versions', value: (g) => fmt(g.VersionCount)},
      {title: 'Latest approved', value: (g) => fmt(g.LatestApprovedVersion)},
      {title: 'Description', value: (g) => g.ModelPackageGroupDescription},
    ], groups, {id: 'groups'}));
}

export async function groupView(ctx, group) {
  const {versions} = await get('/api/model-groups/' + enc(group) + '/versions');
  const act = (version, verb) => async () => {
    const input = document.querySelector(`input[data-description="${version}"]`);
    try {
      await post(`/api/model-groups/${enc(group)}/versions/${version}/${verb}`,
                 {description: input ? input.value : ''});
      ctx.rerender();
    } catch (error) { ctx.showError(error); }
  };
  return h('section', null, h('h1', null, 'Model package group ', h('span', {class: 'name'}, group)),
    table([
      {title: 'Version', value: (v) => fmt(v.ModelPackageVersion)},
      {title: 'Status', value: (v) => h('span', {'data-version-status': v.ModelPackageVersion},
                                         statusBadge(v.ModelApprovalStatus))},
      {title: 'Metrics', value: (v) => fmt(v.ModelMetrics)},
      {title: 'Created', value: (v) => v.CreationTime},
      {title: 'Approval description', value: (v) => v.ApprovalDescription},
      {title: 'Decide', value: (v) => h('span', {class: 'decide'},
        h('input', {'data-description': v.ModelPackageVersion, placeholder: 'description'}),
        h('button', {'data-approve': v.ModelPackageVersion,
                     onclick: act(v.ModelPackageVersion, 'approve')}, 'Approve'),
        h('button', {'data-reject': v.ModelPackageVersion,
                     onclick: act(v.ModelPackageVersion, 'reject')}, 'Reject'))},
    ], versions, {id: 'versions'}));
}

export async function endpointList() {
  const {endpoints} = await get('/api/endpoints');
  return h('section', null, h('h1', null, 'Endpoints'),
    endpoints.length === 0 ? h('p', {class: 'empty'}, 'No endpoints yet.') : table([
      {title: 'Endpoint', value: (e) => link('#/endpoints/' + enc(e.EndpointName), e.EndpointName)},
      {title: 'URL', value: (e) => e.Url},
      {title: 'Revision', value: (e) => fmt(e.Revision)},
      {title: 'Variants', value: (e) => e.ProductionVariants.map((v) =>
        `${v.VariantName}=${v.ModelPackageGroupName}:${v.ModelPackageVersion} ` +
        `(${Math.round(v.TrafficShare * 100)}%)`).join(', ')},
    ], endpoints, {id: 'endpoints'}));
}

export async function endpointView(ctx, name) {
  const e = await get('/api/endpoints/' + enc(name));
  const samples = Object.entries((e.Live && e.Live.Samples) || {});
  return h('section', null, h('h1', null, 'Endpoint ', h('span', {class: 'name'}, e.EndpointName)),
    h('p', {class: 'muted'}, e.Url + ' · revision ' + e.Revision + ' · ' +
      (e.Live && e.Live.InService ? 'in service' : 'not being served')),
    table([
      {title: 'Variant', value: (v) => v.VariantName},
      {title: 'Model', value: (v) => link('#/registry/' + enc(v.ModelPackageGroupName),
        v.ModelPackageGroupName + ':' + v.ModelPackageVersion)},
      {title: 'Weight', value: (v) => fmt(v.Weight)},
      {title: 'Traffic', value: (v) => Math.round(v.TrafficShare * 100) + '%'},
    ], e.ProductionVariants, {id: 'variants'}),
    h('h2', null, 'Live request metrics'),
    samples.length ? table([{title: 'Series', value: (m) => m[0]},
                            {title: 'Value', value: (m) => fmt(m[1])}], samples) :
      h('p', {class: 'empty'}, 'none (start it with raypipe serve ' + e.EndpointName + ')'));
}

export async function featureList() {
  const groups = (await get('/api/feature-groups')).feature_groups;
  return h('section', null, h('h1', null, 'Feature groups'),
    groups.length === 0 ? h('p', {class: 'empty'}, 'No feature groups yet.') : table([
      {title: 'Group', value: (g) => link('#/features/' + enc(g.FeatureGroupName), g.FeatureGroupName)},
      {title: 'Features', value: (g) => fmt(g.FeatureCount)},
      {title: 'Online records', value: (g) => fmt(g.OnlineRecords)},
      {title: 'Offline rows', value: (g) => fmt(g.OfflineRows)},
      {title: 'Created', value: (g) => g.CreationTime},
    ], groups, {id: 'feature-groups'}));
}

export async function featureView(ctx, name) {
  const g = await get('/api/feature-groups/' + enc(name));
  const columns = g.Sample.length ? Object.keys(g.Sample[0]) : [];
  return h('section', null, h('h1', null, 'Feature group ', h('span', {class: 'name'}, name)),
    h('p', {class: 'muted'}, `${fmt(g.OnlineRecords)} online records · ${fmt(g.OfflineRows)} ` +
      `offline rows in ${fmt(g.OfflineFiles)} files`),
    h('h2', null, 'Schema'), table([
      {title: 'Feature', value: (f) => f.FeatureName}, {title: 'Type', value: (f) => f.FeatureType},
    ], g.FeatureDefinitions || [], {id: 'schema'}),
    h('h2', null, 'Sample'), columns.length ? table(columns.map((c) =>
      ({title: c, value: (row) => fmt(row[c])})), g.Sample, {id: 'sample'}) :
      h('p', {class: 'empty'}, 'no rows'));
}
