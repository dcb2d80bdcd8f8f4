/**
 * The gate story end to end, as the demo tells it (examples/demo/gateStory.ts): a better
 * spam model passes, a regressed one fails on the hard-ham slice with the reason printed,
 * an override is requested, the requester's self-approval is refused, two approvers
 * approve and the decision becomes overridden — every step a real `evalgate` process
 * against the API, with its exit code.
 */
import { apiClient } from '../../testkit/apiClient';
import { runGateStory } from '../../examples/demo/gateStory';
import { registerSuite, startEvalWorld, waitForRun, type EvalWorld } from '../../testkit/evalWorld';
import { classificationRows } from '../../testkit/corpus/writeDatasets';
import { uploadDataset } from '../../testkit/gates';

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '120' });
}, 120_000);
afterAll(() => world.close());

it('tells the gate story through the CLI: pass, fail on hard-ham, refused self-approval, two approvals, overridden', async () => {
  // The demo's dataset: all 1,792 held-out emails.
  const dataset = await uploadDataset(world, [...classificationRows({ split: 'heldout' })]);
  const suite = await registerSuite(world, 'release_blocking', [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
    { name: 'roc_auc', metric: 'roc_auc', params: { positiveLabel: 'spam' } },
  ]);
  const model = (await world.editor.post('/v1/models', { name: `spam-filter-${world.team}`, ownerTeam: world.team }))
    .body;
  const versions: Record<string, string> = {};
  for (const [name, endpoint] of [
    ['nb-v1', { protocol: 'json-predict', url: world.server.predictUrl('nb-v1') }],
    ['nb-small-v1', { protocol: 'json-predict', url: world.server.predictUrl('nb-small-v1') }],
    ['logreg-v1', { protocol: 'openai-chat', url: world.server.openaiBaseUrl, model: 'logreg-v1' }],
  ] as const) {
    const body = {
      version: name,
      endpoint,
      ...(endpoint.protocol === 'openai-chat'
        ? { promptTemplate: 'Classify this email as ham or spam.\n\n{{input}}', params: { temperature: 0 } }
        : {}),
    };
    versions[name] = (await world.editor.post(`/v1/models/${model.modelId}/versions`, body)).body.modelVersion;
  }
  await world.editor.put(`/v1/models/${model.modelId}/aliases/production`, { modelVersion: versions['nb-v1'] });
  const production = await world.editor.post('/v1/eval-runs', {
    modelVersion: versions['nb-v1'],
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  expect((await waitForRun(world.editor, production.body.runId)).status).toBe('succeeded');

  let printed = '';
  const story = await runGateStory({
    baseUrl: world.stack.baseUrl,
    admin: apiClient(world.stack.baseUrl, world.stack.adminToken),
    team: world.team,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    modelId: model.modelId,
    versions,
    print: (t) => {
      printed += t;
    },
  });
  const byTitle = (start: string) => story.steps.find((s) => s.title.startsWith(start))!;

  expect(story.steps.map((s) => s.exitCode)).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
  expect(byTitle('a better model').stdout).toMatch(/→ PASS/);
  const regressed = byTitle('a regressed model').stdout;
  expect(regressed).toMatch(/→ FAIL/);
  expect(regressed).toMatch(
    /accuracy\[hard-ham\]:max_regression\s+0\.\d{4}\s+0\.\d{4}\s+-0\.\d{4} \[-0\.\d{4}, -0\.\d{4}\]\s+FAIL/,
  );
  expect(regressed).toMatch(
    /fail\s+accuracy\[hard-ham\]:max_regression: accuracy on slice hard-ham .* regressed too far/,
  );
  // Only the slice fails: overall accuracy (point and interval) and the F1 floor hold.
  expect(regressed.match(/  FAIL$/gm)).toHaveLength(1); // table rows; the title reads "→ FAIL"
  expect(byTitle('where it regressed').stdout).toMatch(/accuracy\s+hard-ham\s+0\.\d{4}\s+0\.\d{4}\s+-0\.\d{4}/);
  expect(byTitle('the requester tries').stderr).toMatch(
    /refused \(403 self_approval\): the requester cannot approve their own override/,
  );
  expect(byTitle('the first release manager').stdout).toMatch(/requested \(1 of 2 approvals\); check is fail/);
  expect(byTitle('the second release manager').stdout).toMatch(/granted \(2 of 2 approvals\); check is overridden/);
  const final = byTitle('CI asks again').stdout;
  expect(final).toMatch(/→ OVERRIDDEN/);
  const overrideLine =
    /overridden override: overridden: accuracy\[hard-ham\]:max_regression failed .* requested by ml-engineer-/;
  expect(final).toMatch(
    new RegExp(overrideLine.source + /.* approved by release-manager-a-.*, release-manager-b-/.source),
  );
  expect(printed).toContain('→ exit 1');

  const { rows } = await world.stack.pool.query(
    'SELECT status, cause FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id',
    [story.checkIds.fail],
  );
  expect(rows).toEqual([
    { status: 'fail', cause: 'check' },
    { status: 'overridden', cause: 'override' },
  ]);
  const audit = await world.stack.pool.query('SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY audit_id', [
    story.overrideId,
  ]);
  expect(audit.rows.map((r) => r.action)).toEqual([
    'override.request',
    'override.approval_refused',
    'override.approve',
    'override.approve',
    'override.grant',
  ]);
}, 300_000);
