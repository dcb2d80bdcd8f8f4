/**
 * The operators' series on /metrics, read from the records at scrape time: a finished release
 * run is counted by outcome with its queue time, cost and metric computation time, a release
 * check that waits shows its age, a budgeted run in flight shows the share of its budget reserved
 * and what is left of it, and a team's daily call quota shows what is left today.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { createGate, releaseSuite, sliceRows, spamModel, uploadDataset, waitForCheck } from '../../../testkit/gates';
import { scrapeMetrics, seriesValue } from '../../../testkit/scrape';

let world: EvalWorld;

const QUOTA = 100_000;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_TEAM_DAILY_CALL_QUOTA: String(QUOTA) });
}, 120_000);
afterAll(() => world.close());

const series = () => scrapeMetrics(world.stack);
const value = seriesValue;

it('counts a finished release run by outcome with its queue time, cost, metric computation time and quota use', async () => {
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
  const run = await waitForRun(world.editor, started.body.runId);
  expect(run.status).toBe('succeeded');

  const text = await series();
  expect(value(text, 'evalgate_runs_finished_last_hour', released)).toBeGreaterThanOrEqual(before + 1);
  const p95 = value(text, 'evalgate_run_queue_seconds', { mode: 'release', stat: 'p95' });
  expect(p95).toBeGreaterThanOrEqual(0);
  expect(p95).toBeLessThan(3600);
  expect(value(text, 'evalgate_runs_in_flight', { mode: 'release', status: 'queued' })).toBeGreaterThanOrEqual(0);

  // Cost per run: 20 calls at $0.001 (and a little for tokens); this run is among those of the last hour.
  expect(run.cost.totalUsd).toBeGreaterThanOrEqual(0.02);
  const cost = (stat: string) => value(text, 'evalgate_run_cost_usd', { mode: 'release', stat }) ?? NaN;
  expect(cost('max')).toBeGreaterThanOrEqual(run.cost.totalUsd);
  expect(cost('total')).toBeGreaterThanOrEqual(run.cost.totalUsd);
  expect(cost('p50')).toBeLessThanOrEqual(cost('p95'));
  expect(cost('p95')).toBeLessThanOrEqual(cost('max'));
  // Metric computation time: recorded on the run, and the longest of the hour is at least this run's.
  expect(typeof run.timing.metricsMs).toBe('number');
  expect(run.timing.metricsMs).toBeLessThan(run.timing.runMs);
  const compute = (stat: string) => value(text, 'evalgate_metric_compute_seconds', { mode: 'release', stat }) ?? NaN;
  expect(compute('max')).toBeGreaterThanOrEqual(run.timing.metricsMs / 1000);
  expect(compute('p50')).toBeLessThanOrEqual(compute('max'));
  expect(compute('max')).toBeLessThan(60);

  // The team's daily quota: what the run's calls left of it today.
  const reserved = Number(
    (
      await world.stack.pool.query(
        `SELECT reserved_calls FROM team_call_quotas WHERE team = $1 AND day = (now() AT TIME ZONE 'utc')::date`,
        [world.team],
      )
    ).rows[0].reserved_calls,
  );
  expect(reserved).toBeGreaterThanOrEqual(20);
  expect(value(text, 'evalgate_team_daily_call_quota')).toBe(QUOTA);
  expect(value(text, 'evalgate_team_daily_calls_remaining', { team: world.team })).toBe(QUOTA - reserved);
});

it('shows how long a release check has waited and how much of a running budget is reserved and left', async () => {
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
    // What is left, from the same records: the suite sets only calls (1,000), so the run that reserved the most
    // has 1,000 × (1 − ratio) left, and no USD series is made up.
    const suite = { metric_suite_id: suiteRes.body.metricSuiteId };
    const ratio = value(text, 'evalgate_run_budget_used_ratio', suite)!;
    expect(value(text, 'evalgate_run_budget_remaining', { ...suite, unit: 'calls' })).toBeCloseTo(
      1000 * (1 - ratio),
      6,
    );
    expect(value(text, 'evalgate_run_budget_remaining', { ...suite, unit: 'usd' })).toBeUndefined();
    world.server.resetKnobs();
    expect(['pass', 'fail']).toContain((await waitForCheck(world.editor, started.body.checkId, 120_000)).status);
  } finally {
    world.server.resetKnobs();
  }
});
