// The studio in a real browser: Debian's chromium, headless, driven by playwright-core.
//
//   node tests/browser/studio.test.mjs --raypipe build/bin/raypipe --work DIR --deps .deps
//
// Runs a pipeline from the UI (the housing pipeline when this build runs its step types, else a
// small Command pipeline), watches its DAG until every step is Succeeded, opens a step, the
// lineage, approves a model version in the registry, and checks that data is rendered as text
// (a step displayed as <script> stays text; nothing injected runs). Screenshots go to
// DIR/screenshots. Fails, never skips, when chromium or playwright-core is missing: scripts/setup
// installs both.

import {spawn, execFileSync} from 'node:child_process';
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const raypipe = path.resolve(args.raypipe || path.join(root, 'build/bin/raypipe'));
const work = path.resolve(args.work || path.join(root, 'build/studio-browser'));
const deps = path.resolve(args.deps || path.join(root, '.deps'));
const shots = path.join(work, 'screenshots');
const chromiumPath = ['/usr/lib/chromium/chromium', '/usr/bin/chromium']
  .find((p) => fs.existsSync(p));

function fail(message) {
  console.error('studio browser test: FAILED: ' + message);
  process.exit(1);
}
if (!fs.existsSync(raypipe)) fail(`no raypipe binary at ${raypipe}`);
if (!chromiumPath) fail('chromium is not installed (scripts/setup installs the Debian package)');
let chromium;
try {
  chromium = createRequire(path.join(deps, 'browser/package.json'))('playwright-core').chromium;
} catch (error) {
  fail(`playwright-core is not installed in ${deps}/browser (run scripts/setup): ${error.message}`);
}

fs.rmSync(work, {recursive: true, force: true});
fs.mkdirSync(shots, {recursive: true});
const home = path.join(work, 'home');
const rp = (...command) => execFileSync(raypipe, ['--home', home, ...command],
                                       {cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
const log = (line) => console.log('studio browser test: ' + line);

// --- The pipelines ---------------------------------------------------------------------------
const escapePipeline = path.join(work, 'escape.yaml');
fs.writeFileSync(escapePipeline, `Version: "2020-12-01"
Metadata: {Name: studio-escape}
Parameters:
  - {Name: Words, Type: String, DefaultValue: "plain words"}
Steps:
  - Name: Prepare
    Type: Command
    DisplayName: "<script>window.__pwned = 1</script>"
    Description: "<img src=x onerror=\\"window.__pwned = 2\\">"
    Arguments:
      Command: ["sh", "-c", "echo \\"$0\\" > \\"$RAYPIPE_OUTPUT_DATA/words.txt\\"; echo '<img src=x onerror=window.__pwned=3> rmse=1.25'", {Get: Parameters.Words}]
      Outputs: [{OutputName: data}]
      MetricDefinitions: [{Name: "validation:rmse", Regex: "rmse=([0-9.]+)"}]
  - Name: Train
    Type: Command
    Arguments:
      Command: ["sh", "-c", "cat \\"$0/words.txt\\"; echo trained > \\"$RAYPIPE_OUTPUT_MODEL/model.txt\\"", {Get: Steps.Prepare.Outputs.data}]
      Outputs: [{OutputName: model}]
  - Name: Evaluate
    Type: Command
    Arguments:
      Command: ["sh", "-c", "cat \\"$0/model.txt\\"", {Get: Steps.Train.Outputs.model}]
`);

const housing = path.join(root, 'examples/housing/pipeline.yaml');
let main = {file: escapePipeline, name: 'studio-escape', params: {Words: 'from the browser'}};
if (fs.existsSync(housing)) {
  try {
    rp('pipeline', 'validate', housing);
    const csv = path.join(work, 'housing.csv');
    rp('datasets', 'housing', '--rows', '20000', '--seed', '7', '--out', csv);
    main = {file: housing, name: 'synthetic-housing-training-sm-pipeline-ray',
            params: {InputData: csv}, housing: true};
  } catch (error) {
    log('examples/housing/pipeline.yaml does not validate with this build\'s step types; ' +
        'running the Command pipeline instead: ' + String(error.stderr || error.message).trim());
  }
}
rp('pipeline', 'upsert', escapePipeline);
if (main.housing) rp('pipeline', 'upsert', main.file);
log(`pipeline under test: ${main.name}`);

// --- The studio --------------------------------------------------------------------------------
const studio = spawn(raypipe, ['--home', home, 'studio', '--port', '0'],
                     {cwd: work, stdio: ['ignore', 'inherit', 'pipe']});
const base = await new Promise((resolve, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error('the studio did not start: ' + text)), 30000);
  studio.stderr.on('data', (chunk) => {
    text += chunk;
    const match = text.match(/studio on (http:\/\/[^ ]+\/)/);
    if (match) { clearTimeout(timer); resolve(match[1]); }
  });
  studio.on('exit', (code) => reject(new Error(`the studio exited (${code}): ${text}`)));
}).catch((error) => fail(error.message));
studio.stderr.on('data', (chunk) => process.stderr.write(chunk));
log(`studio at ${base}`);

const browser = await chromium.launch({executablePath: chromiumPath, headless: true,
                                       args: ['--no-sandbox', '--disable-gpu']});
const page = await browser.newPage({viewport: {width: 1400, height: 900}});
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(String(error)));
const shot = (name) => page.screenshot({path: path.join(shots, name + '.png'), fullPage: true});

async function runFromUi(pipeline, timeoutMs) {
  await page.goto(base + '#/pipelines/' + encodeURIComponent(pipeline.name));
  await page.waitForSelector('#start-form');
  for (const [name, value] of Object.entries(pipeline.params)) {
    await page.fill(`input[data-parameter="${name}"]`, value);
  }
  await page.click('#start-execution');
  await page.waitForSelector('#execution[data-id], #error:not([hidden])');
  if (!(await page.$('#execution[data-id]'))) {
    const error = await page.textContent('#error');
    if (pipeline.housing && error.includes('has no implementation in this build')) {
      log('this build does not run the housing pipeline\'s step types yet; running the ' +
          'Command pipeline instead: ' + error.trim());
      await shot('housing-not-runnable');
      return null;
    }
    throw new Error(`starting ${pipeline.name} failed: ${error}`);
  }
  const id = await page.getAttribute('#execution', 'data-id');
  await page.waitForSelector('#execution[data-status="Succeeded"], #execution[data-status="Failed"], ' +
                             '#execution[data-status="Stopped"]', {timeout: timeoutMs});
  const status = await page.getAttribute('#execution', 'data-status');
  await shot(pipeline.name + '-execution');
  assert.equal(status, 'Succeeded', `execution ${id} of ${pipeline.name} ended ${status}: ` +
               await page.textContent('#execution'));
  // The last poll redraws the DAG with every step's final status: every step that ran
  // Succeeded; only the branch a condition did not take (RMSEFail) stays NotStarted.
  await page.waitForFunction(() => {
    const nodes = [...document.querySelectorAll('svg.dag .dag-node')];
    const ran = nodes.filter((n) => n.dataset.status !== 'NotStarted');
    return ran.length > 0 && nodes.length - ran.length <= 1 &&
           ran.every((n) => n.dataset.status === 'Succeeded');
  }, null, {timeout: 15000});
  return id;
}

let failed = null;
try {
  // 1. The pipeline under test, started from the UI with a parameter override.
  let id = await runFromUi(main, main.housing ? 540000 : 60000);
  if (id === null) {
    main = {file: escapePipeline, name: 'studio-escape', params: {Words: 'from the browser'}};
    id = await runFromUi(main, 60000);
  }
  const nodes = await page.$$eval('svg.dag .dag-node', (all) => all.map((n) => n.dataset.status));
  const steps = await page.$$eval('#steps tbody tr', (rows) => rows.length);
  log(`execution ${id}: ${nodes.length} DAG nodes: ${[...new Set(nodes)].join(',')}`);
  assert.ok(nodes.length >= 3 && steps >= nodes.length - 1);
  if (main.housing) {
    assert.equal(nodes.filter((status) => status === 'Succeeded').length, 6,
                 'the housing pipeline runs six steps: ' + nodes.join(','));
  }

  // 2. A step's details on click: arguments, metrics, cache explanation, log.
  await page.click('svg.dag .dag-node >> nth=0');
  await page.waitForSelector('#step-panel #step-name');
  assert.ok((await page.textContent('#step-panel')).includes('Arguments'));
  assert.ok((await page.textContent('#cache-result')).length > 0);
  await shot(main.name + '-step');

  // 3. Lineage.
  await page.click('text=Lineage');
  await page.waitForSelector('#lineage svg.lineage .lineage-node');
  const kinds = await page.$$eval('#lineage .lineage-node', (all) => all.map((n) => n.dataset.kind));
  assert.ok(kinds.includes('Step'), 'lineage shows steps: ' + kinds);
  await shot(main.name + '-lineage');

  // 4. Approve a model version: the one the housing pipeline registered, else one registered
  //    with `raypipe model register` (a bundle from `raypipe train`).
  let group = 'studio-models';
  if (main.housing) {
    group = 'synthetic-housing-models-ray';
  } else {
    const csv = path.join(work, 'small.csv');
    rp('datasets', 'housing', '--rows', '300', '--seed', '3', '--out', csv);
    rp('train', '--train', csv, '--target', 'PRICE', '--hyperparameter', 'num_round=3',
       '--out', path.join(work, 'model'));
    rp('model', 'register', group, '--model-dir', path.join(work, 'model'),
       '--description', '<b>not bold</b>');
  }
  await page.goto(base + '#/registry/' + group);
  await page.waitForSelector('#versions');
  const version = await page.$$eval('[data-approve]', (all) => all.at(-1).dataset.approve);
  await page.fill(`input[data-description="${version}"]`, '<i>approved in the browser</i>');
  await page.click(`[data-approve="${version}"]`);
  await page.waitForSelector(`[data-version-status="${version}"] .status-Approved`);
  assert.ok((await page.textContent('#versions')).includes('<i>approved in the browser</i>'));
  await shot('registry-approved');

  // 5. Escaping: markup in a display name, a description, a log line and a parameter is text.
  if (main.housing) await runFromUi({name: 'studio-escape', params: {Words: '<b>x</b>'}}, 60000);
  else await page.goto(base + '#/executions/' + id);
  await page.waitForSelector('svg.dag .dag-node');
  const label = await page.$eval('svg.dag .dag-node[data-step="Prepare"] .label',
                                 (n) => n.textContent);
  assert.ok(label.startsWith('<script>'), 'the display name shows as text: ' + label);
  await page.click('svg.dag .dag-node[data-step="Prepare"]');
  await page.waitForSelector('#step-log');
  assert.ok((await page.textContent('#step-log')).includes('<img src=x'));
  assert.equal(await page.$$eval('main script, main img, svg script', (all) => all.length), 0,
               'no element came from data');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'injected code ran');
  await shot('escaping');

  // 6. Every other page renders.
  for (const hash of ['#/executions', '#/experiments', '#/tuning', '#/registry', '#/endpoints',
                      '#/features', '#/pipelines']) {
    await page.goto(base + hash);
    await page.waitForSelector('main section h1');
  }
  await shot('pipelines');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
} catch (error) {
  failed = error;
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
  studio.kill('SIGTERM');
  await new Promise((resolve) => studio.on('exit', resolve));
}
if (failed) fail(failed.stack || String(failed));
log(`passed; screenshots in ${shots}`);
