/**
 * The budget row under contention: many leases reserving at once (as shards on many
 * workers do) are granted exactly maxCalls between them — never more, and no reservation
 * fails for racing another.
 */
import { BudgetLease, ensureRunBudget, postgresBudgetStore } from '../../../domain/budgets';
import { evalRunWorkflowId } from '../../../common/names';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { principal, startTestStack, unique, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let runId: string;

beforeAll(async () => {
  // A task-queue prefix no worker polls: the run stays queued while its budget is exercised.
  stack = await startTestStack({ EVALGATE_TASK_QUEUE_PREFIX: unique('nobody').toLowerCase() });
  const team = unique('ml');
  const editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
  const dataset = await editor.post('/v1/datasets', {
    name: unique('subjects'),
    taskType: 'generation',
    ownerTeam: team,
  });
  await editor.ndjson(
    `/v1/datasets/${dataset.body.datasetId}/versions?labelPolicy=human_reviewed`,
    datasetJsonl('generation', { limit: 3 }),
  );
  const model = await editor.post('/v1/models', { name: unique('gen'), ownerTeam: team });
  const version = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'json-predict', url: 'http://127.0.0.1:9/predict' },
  });
  const suite = await editor.post('/v1/metric-suites', {
    name: unique('suite'),
    purpose: 'exploratory',
    ownerTeam: team,
  });
  await editor.post(`/v1/metric-suites/${suite.body.metricSuiteId}/versions`, {
    metrics: [{ name: 'f1', metric: 'token_f1' }],
    budget: { maxCalls: 500, maxCostUsd: 1 },
  });
  const run = await editor.post('/v1/eval-runs', {
    modelVersion: version.body.modelVersion,
    datasetId: dataset.body.datasetId,
    metricSuiteId: suite.body.metricSuiteId,
  });
  runId = run.body.runId;
  expect(await ensureRunBudget(stack.pool, runId)).toBe(true);
}, 60_000);
afterAll(async () => {
  await stack.temporal.workflow
    .getHandle(evalRunWorkflowId(runId))
    .terminate('budget store test done')
    .catch(() => undefined);
  await stack.close();
});

it('never grants more than maxCalls across 24 leases racing for it, with no reservation failing and nothing lost', async () => {
  const store = postgresBudgetStore(stack.pool);
  let calls = 0;
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      const lease = new BudgetLease(store, runId, 16);
      for (;;) {
        const permit = await lease.acquire(0.0001);
        if (!permit) break;
        calls += 1;
        lease.settle(permit, 0.0001);
        if (calls % 7 === 0) await lease.release(); // give back mid-way, as shards do between parts
      }
      await lease.release();
    }),
  );
  expect(calls).toBeLessThanOrEqual(500);
  // A lease that saw the budget exhausted stops, so calls another gave back afterwards stay unspent
  // (at most 1.5 blocks per lease); in practice a handful.
  expect(calls).toBeGreaterThan(400);
  const { rows } = await stack.pool.query(
    'SELECT reserved_calls, reserved_cost_usd, exhausted_at FROM run_budgets WHERE run_id = $1',
    [runId],
  );
  // Every lease gave back what it did not use: what stays reserved is exactly what was spent.
  expect(Number(rows[0].reserved_calls)).toBe(calls);
  expect(Number(rows[0].reserved_cost_usd)).toBeCloseTo(calls * 0.0001, 9);
  expect(rows[0].exhausted_at).not.toBeNull();
});

it('stops at maxCostUsd when the cost runs out first', async () => {
  await stack.pool.query(
    'UPDATE run_budgets SET reserved_calls = 0, reserved_cost_usd = 0, exhausted_at = NULL WHERE run_id = $1',
    [runId],
  );
  const store = postgresBudgetStore(stack.pool);
  let spent = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const lease = new BudgetLease(store, runId, 16);
      for (let permit = await lease.acquire(0.01); permit; permit = await lease.acquire(0.01)) {
        lease.settle(permit, 0.01);
        spent += 0.01;
      }
      await lease.release();
    }),
  );
  // 100 calls of $0.01 fit $1 (well under the 500-call limit); never more, and only stragglers' give-backs unspent.
  expect(spent).toBeLessThanOrEqual(1 + 1e-9);
  expect(spent).toBeGreaterThan(0.8);
});
