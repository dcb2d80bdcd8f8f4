/**
 * Every command a user has, as a real process against the real stack, with `--format json`
 * parsed — scripts rely on it — and the text a person reads where it says something.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../testkit/cli';
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { createGate, sliceRows, spamGate, type spamModel } from '../../../testkit/gates';
import { client, unique } from '../../../testkit/stack';

let world: EvalWorld;
let key: string;
let model: Awaited<ReturnType<typeof spamModel>>;
let dataset: { datasetId: string; version: number };
let suite: { metricSuiteId: string };
let gateName: string;
let dir: string;

const evalgate = (...args: string[]) => runCli(world.stack.baseUrl, key, args);
const asAdmin = (...args: string[]) => runCli(world.stack.baseUrl, world.stack.adminToken, args);

/** Runs a command with --format json: exit 0 and stdout that parses (stderr may carry progress). */
async function json(...args: string[]) {
  const res = await evalgate(...args, '--format', 'json');
  expect({ args, exitCode: res.exitCode, stderr: res.stderr }).toMatchObject({ args, exitCode: 0 });
  return JSON.parse(res.stdout);
}

beforeAll(async () => {
  world = await startEvalWorld();
  const made = await client(world.stack.baseUrl, world.stack.adminToken).post('/v1/principals', {
    name: unique('cli-user'),
    teams: [{ team: world.team, roles: ['editor', 'approver'] }],
  });
  key = made.body.apiKey;
  ({ dataset, suite, model, gateName } = await spamGate(world, {
    name: unique('cmd-gate'),
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.3 }],
  }));
  dir = mkdtempSync(join(tmpdir(), 'evalgate-cmds-'));
}, 180_000);
afterAll(() => world.close());
afterEach(() => world.server.resetKnobs());

describe('every command speaks json', () => {
  let runId: string;

  it('datasets create, upload and show', async () => {
    const created = await json(
      'datasets',
      'create',
      '--name',
      unique('ds'),
      '--task-type',
      'classification',
      '--owner-team',
      world.team,
    );
    expect(created).toEqual({ datasetId: expect.any(String), created: true });
    const file = join(dir, 'rows.jsonl');
    writeFileSync(
      file,
      sliceRows({ spam: 5 })
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const uploaded = await json(
      'datasets',
      'upload',
      file,
      '--dataset',
      created.datasetId,
      '--label-policy',
      'human_reviewed',
    );
    expect(uploaded).toMatchObject({ datasetId: created.datasetId, version: 1, rowCount: 5, created: true });
    expect(
      await json('datasets', 'upload', file, '--dataset', created.datasetId, '--label-policy', 'synthetic'),
    ).toMatchObject({
      version: 1,
      created: false,
    });
    expect(await json('datasets', 'show', created.datasetId)).toMatchObject({
      versions: [{ version: 1, rowCount: 5 }],
    });
    expect(await json('datasets', 'show', created.datasetId, '--version', '1')).toMatchObject({ version: 1 });
  });

  it('refuses a bad line of an upload with its number, as the API does', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"id":"a","input":"x","label":"spam"}\n{"id":"b","input":"y"}\n');
    const res = await evalgate(
      'datasets',
      'upload',
      file,
      '--dataset',
      dataset.datasetId,
      '--label-policy',
      'human_reviewed',
    );
    expect([res.exitCode, res.stderr.trim().split('\n').pop()]).toEqual([
      2,
      `evalgate: ${file}:2: label: Invalid input`,
    ]);
  });

  it('runs start, show, watch, list and compare', async () => {
    const baseline = await json(
      'runs',
      'start',
      '--model',
      model.v('nb-v1'),
      '--dataset',
      dataset.datasetId,
      '--suite',
      suite.metricSuiteId,
      '--mode',
      'release',
      '--wait',
    );
    expect(baseline).toMatchObject({ status: 'succeeded' });
    const started = await json(
      'runs',
      'start',
      '--model',
      model.v('logreg-v1'),
      '--dataset',
      dataset.datasetId,
      '--suite',
      suite.metricSuiteId,
      '--mode',
      'release',
    );
    runId = started.runId;
    const watched = await evalgate('runs', 'watch', runId, '--format', 'json', '--timeout', '3m');
    expect(watched.exitCode).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({ runId, status: 'succeeded' });
    expect(await json('runs', 'show', runId)).toMatchObject({ runId, results: { accuracy: { n: 60 } } });
    const text = await evalgate('runs', 'show', runId);
    expect(text.stdout).toMatch(new RegExp(`^run ${runId}: succeeded \\(60/60 examples\\)`));
    expect(await json('runs', 'compare', runId, '--baseline', 'alias:production')).toMatchObject({
      candidate: { runId },
      metrics: { accuracy: expect.any(Object) },
    });
    const listed = await json('runs', 'list', '--dataset', dataset.datasetId, '--limit', '50');
    expect(listed.items.map((r: { runId: string }) => r.runId)).toContain(runId);
    const listedText = await evalgate('runs', 'list', '--dataset', dataset.datasetId);
    expect(listedText.stdout).toMatch(
      new RegExp(`^${runId}  succeeded +release +${model.v('logreg-v1')}  \\d{4}-`, 'm'),
    );
  });

  it('runs cancel', async () => {
    world.server.setKnobs({ latencyMs: 3000 });
    const started = await json(
      'runs',
      'start',
      '--model',
      model.v('keywords-v1'),
      '--dataset',
      dataset.datasetId,
      '--suite',
      suite.metricSuiteId,
    );
    expect(await json('runs', 'cancel', started.runId)).toEqual({ runId: started.runId, status: 'cancelling' });
    const watched = await evalgate('runs', 'watch', started.runId, '--format', 'json', '--timeout', '2m');
    expect([watched.exitCode, JSON.parse(watched.stdout).status]).toEqual([1, 'cancelled']);
  });

  it('gates list and show, gate check', async () => {
    const listed = await json('gates', 'list', '--name', gateName);
    expect(listed.items).toEqual([expect.objectContaining({ name: gateName })]);
    expect(await json('gates', 'show', gateName)).toMatchObject({ name: gateName, latest: { version: 1 } });
    const shown = await evalgate('gates', 'show', gateName);
    expect(shown.stdout).toContain(`gate ${gateName} v1`);
    expect(shown.stdout).toContain('  accuracy:max_regression threshold 0.3');
    const check = await evalgate(
      'gate',
      'check',
      '--gate',
      gateName,
      '--candidate',
      model.v('logreg-v1'),
      '--wait',
      '--format',
      'json',
    );
    expect(JSON.parse(check.stdout)).toMatchObject({ status: 'pass', exitCode: 0 });
  });

  it('gates preview: of a registered gate, and of a gate body in a file (nothing stored)', async () => {
    const registered = await json('gates', 'preview', gateName, '--discordance', '0.08');
    expect(registered.rules).toEqual([
      expect.objectContaining({ rule: 'accuracy:max_regression', n: 60, discordance: 0.08, points: expect.any(Array) }),
    ]);
    for (const p of registered.rules[0].points) expect(p.pPass + p.pFail + p.pInconclusive).toBeCloseTo(1, 6);
    const text = await evalgate('gates', 'preview', gateName, '--discordance', '0.08');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('accuracy:max_regression · n 60 · discordance 0.080');
    expect(text.stdout).toMatch(/true delta +P\(pass\) +P\(fail\) +P\(inconclusive\)/);

    const previewName = unique('preview-gate');
    const file = join(dir, 'gate.yaml');
    writeFileSync(
      file,
      [
        `name: ${previewName}`,
        `ownerTeam: ${world.team}`,
        `metricSuiteId: ${suite.metricSuiteId}`,
        `datasetIds: [${dataset.datasetId}]`,
        'rules:',
        '  - { metric: accuracy, kind: non_inferiority, margin: 0.02 }',
      ].join('\n'),
    );
    const previewed = await json('gates', 'preview', '-f', file, '--discordance', '0.08');
    expect(previewed.rules[0]).toMatchObject({ rule: 'accuracy:non_inferiority', n: 60 });
    expect(previewed.rules[0].examplesFor80PercentPower).toBeGreaterThan(60);
    expect((await json('gates', 'list', '--name', previewName)).items).toEqual([]);
    const both = await evalgate('gates', 'preview', gateName, '-f', file);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('not both');
  });

  it('lineage, as json and as a tree', async () => {
    const graph = await json('lineage', 'eval_run', runId, '--direction', 'upstream');
    expect(graph).toMatchObject({ root: `eval_run:${runId}`, direction: 'upstream' });
    const tree = await evalgate('lineage', 'eval_run', runId, '--direction', 'upstream');
    expect(tree.exitCode).toBe(0);
    expect(tree.stdout.split('\n')[0]).toMatch(/^eval_run /);
    expect(tree.stdout).toMatch(/^[├└]── .*dataset_version/m);
  });

  it('incidents deprecate, reinstate, show, list and metric-bug', async () => {
    const deprecated = await json(
      'incidents',
      'deprecate',
      '--dataset',
      dataset.datasetId,
      '--version',
      String(dataset.version),
      '--reason',
      'leaked into training',
    );
    expect(deprecated).toMatchObject({ incidentId: expect.any(String) });
    expect(await json('incidents', 'show', deprecated.incidentId)).toMatchObject({
      incidentId: deprecated.incidentId,
      kind: 'dataset_contamination',
    });
    const reinstated = await json(
      'incidents',
      'reinstate',
      '--dataset',
      dataset.datasetId,
      '--version',
      String(dataset.version),
      '--reason',
      'false alarm',
    );
    expect(reinstated).toMatchObject({ incidentId: expect.any(String) });
    expect((await json('incidents', 'list')).items.length).toBeGreaterThanOrEqual(2);
    const bug = await asAdmin(
      'incidents',
      'metric-bug',
      '--metric',
      'recall',
      '--bad-impl-versions',
      '0.9.0',
      '--fixed-impl-version',
      '1.0.0',
      '--note',
      'divides by predicted positives',
      '--format',
      'json',
    );
    expect([bug.exitCode, JSON.parse(bug.stdout)]).toEqual([
      0,
      expect.objectContaining({ incidentId: expect.any(String) }),
    ]);
  });

  it('override request and approve', async () => {
    const strict = unique('strict-gate');
    await createGate(world.editor, {
      name: strict,
      ownerTeam: world.team,
      metricSuiteId: suite.metricSuiteId,
      datasetIds: [dataset.datasetId],
      rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.9999 }],
    });
    const check = await evalgate(
      'gate',
      'check',
      '--gate',
      strict,
      '--candidate',
      model.v('nb-small-v1'),
      '--wait',
      '--format',
      'json',
    );
    const failed = JSON.parse(check.stdout);
    expect([check.exitCode, failed.status]).toEqual([1, 'fail']);
    const requested = await json(
      'override',
      'request',
      '--check',
      failed.checkId,
      '--justification',
      'accepted for the test run',
    );
    expect(requested).toMatchObject({ overrideId: expect.any(String), status: 'requested' });
    const approver = await client(world.stack.baseUrl, world.stack.adminToken).post('/v1/principals', {
      name: unique('cli-approver'),
      teams: [{ team: world.team, roles: ['approver'] }],
    });
    const approved = await runCli(world.stack.baseUrl, approver.body.apiKey, [
      'override',
      'approve',
      '--override',
      requested.overrideId,
      '--format',
      'json',
    ]);
    expect([approved.exitCode, JSON.parse(approved.stdout)]).toEqual([
      0,
      expect.objectContaining({ overrideId: requested.overrideId, checkStatus: 'fail' }),
    ]);
  });

  it('answers help for every command with exit 0', async () => {
    for (const args of [
      ['--help'],
      ['apply', '--help'],
      ['runs', 'list', '--help'],
      ['incidents', 'judge', '--help'],
    ]) {
      const res = await evalgate(...args);
      expect([args, res.exitCode, res.stdout]).toEqual([args, 0, expect.stringMatching(/^Usage: evalgate/)]);
    }
  });
});
