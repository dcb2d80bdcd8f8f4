/**
 * The operators' series on /metrics, read from the records at scrape time: a finished release
 * run is counted by outcome, a release check that waits shows its age, and a budgeted run in
 * flight shows the share of its budget reserved.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { createGate, releaseSuite, sliceRows, spamModel, uploadDataset, waitForCheck } from '../../../testkit/gates';
import { client } from '../../../testkit/stack';

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld();
}, 120_000);
afterAll(() => world.close());

async function series(): Promise<string> {
  const res = await client(world.stack.baseUrl, world.stack.adminToken).get('/metrics');
  expect(res.status).toBe(200);
  return res.body as string;
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean);
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

it('counts a finished release run by outcome and reports its queue time', async () => {
  const released = { mode: 'release', status: 'succeeded', error_class: '' };
  const before = value(await series(), 'evalgate_runs_finished_last_hour', released) ?? 0;
  const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 10, spam: 10 }));
  const suite = await releaseSuite(world, [{ name: 'accuracy', metric: 'accuracy' }]);
  const model = await spamModel(world);
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion: model.v('nb-v1'),
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
    mode: 'release',
  });
  expect((await waitForRun(world.editor, started.body.runId)).status).toBe('succeeded');

  const text = await series();
  expect(value(text, 'evalgate_runs_finished_last_hour', released)).toBeGreaterThanOrEqual(before + 1);
  const p95 = value(text, 'evalgate_run_queue_seconds', { mode: 'release', stat: 'p95' });
  expect(p95).toBeGreaterThanOrEqual(0);
  expect(p95).toBeLessThan(3600);
  expect(value(text, 'evalgate_runs_in_flight', { mode: 'release', status: 'queued' })).toBeGreaterThanOrEqual(0);
});

it('shows how long a release check has waited and how much of a running budget is reserved', async () => {
  const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 20, spam: 20 }));
  const suiteRes = await world.editor.post('/v1/metric-suites', {
    name: `budgeted-${Date.now()}`,
    purpose: 'release_blocking',
    ownerTeam: world.team,
  });
  const version = await world.editor.post(`/v1/metric-suites/${suiteRes.body.metricSuiteId}/versions`, {
    metrics: [{ name: 'accuracy', metric: 'accuracy' }],
    budget: { maxCalls: 1000 },
  });
  expect(version.status).toBe(201);
  const model = await spamModel(world);
  const gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suiteRes.body.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules: [{ metric: 'accuracy', kind: 'min', threshold: 0.5 }],
  });
  // Slow calls keep the check pending (and its runs running) long enough to be seen.
  world.server.setKnobs({ latencyMs: 4000 });
  try {
    const started = await world.editor.post(`/v1/gates/${gateId}/checks`, {
      candidateModelVersion: model.v('logreg-v1'),
    });
    expect(started.status).toBe(202);
    // A loaded machine may take a while to start the check's runs and reserve budget: poll until both show
    // (the slow model keeps them running far longer than this can take), then assert on that scrape.
    const budgetLines = (t: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith(`evalgate_run_budget_used_ratio{`) && l.includes(suiteRes.body.metricSuiteId));
    let text = await series();
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; text = await series()) {
      const reserved = budgetLines(text).some((l) => Number(l.split(' ').pop()) > 0);
      if (reserved && (value(text, 'evalgate_gate_check_pending_oldest_seconds') ?? 0) >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(value(text, 'evalgate_gate_check_pending_oldest_seconds')).toBeGreaterThanOrEqual(2);
    const ratios = budgetLines(text);
    expect(ratios.length).toBeGreaterThanOrEqual(1);
    for (const line of ratios) {
      const ratio = Number(line.split(' ').pop());
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThanOrEqual(1);
    }
    world.server.resetKnobs();
    expect(['pass', 'fail']).toContain((await waitForCheck(world.editor, started.body.checkId, 120_000)).status);
  } finally {
    world.server.resetKnobs();
  }
});
