/**
 * Hard budgets, with the run's shards spread over two worker processes: the budget is
 * reserved in PostgreSQL before every model and judge call, so together they never make
 * more calls than the suite allows, and the run stops as budget_exceeded with its
 * partial results kept and marked.
 */
import type { ChildProcess } from 'node:child_process';
import { signalGroup, startWorkerProcess } from '../../../testkit/processes';
import { evalRunWorkflowId } from '../../../common/names';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import {
  JUDGE_PRICING,
  MODEL_PRICING,
  judgeDef,
  readRecords,
  registerGenerationDataset,
  registerGenerator,
  registerJudgeModel,
  registerJudgedSuite,
  serverSideCost,
} from './judgeWorld';

let world: EvalWorld;
let dataset: { datasetId: string; rowCount: number };
let judgeModel: string;
const processes: ChildProcess[] = [];

function startWorker(): void {
  processes.push(
    startWorkerProcess(world.stack, {
      EVALGATE_PART_ROWS: '10',
      EVALGATE_EXPLORATORY_WORKER_CONCURRENCY: '4',
      EVALGATE_RETRY_BASE_MS: '20',
    }),
  );
}

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '30', EVALGATE_SHARD_PARALLELISM: '8' });
  // Only the two worker processes serve this test's task queues.
  await world.stopWorkers();
  startWorker();
  startWorker();
  dataset = await registerGenerationDataset(world, { limit: 300 });
  judgeModel = await registerJudgeModel(world);
}, 120_000);
afterAll(async () => {
  for (const child of processes) signalGroup(child, 'SIGTERM');
  await world.close();
});
beforeEach(() => {
  world.server.resetKnobs();
  world.server.resetStats();
  // A little latency so both processes' shards are in flight together.
  world.server.setKnobs({ latencyMs: 3, latencyJitterMs: 4 });
});

async function workerIdentities(runId: string): Promise<Set<string>> {
  const identities = new Set<string>();
  const history = await world.stack.temporal.workflow.getHandle(evalRunWorkflowId(runId)).fetchHistory();
  for (const event of history.events ?? []) {
    const identity = event.activityTaskStartedEventAttributes?.identity;
    if (identity) identities.add(identity);
  }
  return identities;
}

describe('a run budget', () => {
  it('stops a run on two workers at maxCalls: budget_exceeded, never one call over, partial results kept and marked', async () => {
    const [generator] = await registerGenerator(world, ['lead-v1']);
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel), { budget: { maxCalls: 250 } });
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: generator,
      datasetId: dataset.datasetId,
      metricSuiteId: suiteId,
    });
    const run = await waitForRun(world.editor, started.body.runId, 180_000);

    expect(run.status).toBe('budget_exceeded');
    expect(run.error.class).toBe('budget_exceeded');
    expect((await workerIdentities(run.runId)).size).toBe(2);
    // 300 examples need 600 calls; the budget allows 250 and the server saw no more.
    const served = world.server.stats().requests.total;
    expect(served).toBeLessThanOrEqual(250);
    // ...and no fewer than the budget less what shards may hold unstarted (1.5 blocks of 16 calls each, 8 in flight).
    expect(served).toBeGreaterThanOrEqual(250 - 24 * 8);
    expect(run.cost.calls).toBe(served);
    expect(run.cost.modelCalls).toBe(world.server.stats().requests.byModel['lead-v1']);
    expect(run.cost.modelUsd).toBeCloseTo(serverSideCost(world, 'lead-v1', MODEL_PRICING), 9);
    expect(run.cost.judgeUsd).toBeCloseTo(serverSideCost(world, 'judge-v1', JUDGE_PRICING), 9);
    expect(run.budget).toMatchObject({ maxCalls: 250, exhaustedAt: expect.any(String) });
    expect(run.budget.reservedCalls).toBeLessThanOrEqual(250);

    // Partial results: computed from what was done, marked, and the examples are all in stored parts.
    expect(run.progress.done).toBeLessThan(300);
    expect(run.progress.done).toBeGreaterThan(0);
    expect(run.results.judge).toMatchObject({ partial: true });
    expect(run.results.token_f1).toMatchObject({ partial: true });
    expect(run.results.token_f1.n).toBe(run.progress.done);
    const records = await readRecords(world, run.runId);
    expect(records).toHaveLength(run.progress.done);
    expect(run.results.judge.n).toBe(records.filter((r) => r.judgeScore !== undefined).length);
    // An example whose prediction got budget but whose judge call did not is kept, not judged, and not a judge error.
    expect(records.filter((r) => r.judge?.error)).toHaveLength(0);
    expect(run.judge.errors).toBe(0);
  });

  it('never spends past maxCostUsd across two workers, and the spend matches the server-side counts', async () => {
    const [generator] = await registerGenerator(world, ['keywords-gen-v1']);
    const maxCostUsd = 0.5;
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel, { params: { temperature: 0, seed: 21 } }), {
      budget: { maxCostUsd },
    });
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: generator,
      datasetId: dataset.datasetId,
      metricSuiteId: suiteId,
    });
    const run = await waitForRun(world.editor, started.body.runId, 180_000);

    expect(run.status).toBe('budget_exceeded');
    const serverCost =
      serverSideCost(world, 'keywords-gen-v1', MODEL_PRICING) + serverSideCost(world, 'judge-v1', JUDGE_PRICING);
    expect(run.cost.totalUsd).toBeCloseTo(serverCost, 9); // costs are kept to the nano-dollar (schema 021);
    // The reservation estimates each call high (prompt at 3 characters a token, 64 output tokens), so no
    // in-flight call can exceed its estimate here: the bound is the budget itself.
    expect(serverCost).toBeLessThanOrEqual(maxCostUsd);
    // Most of the budget is used: what is left is at most the reservations (blocks of calls priced
    // at the high estimate) that the shards still held when the last of them was refused. Usually
    // ~92% here; 78% once on a loaded machine.
    expect(serverCost).toBeGreaterThan(maxCostUsd * 0.7);
    expect(run.results.token_f1.partial).toBe(true);
  });

  it('lets a run within its budget succeed, and gives back every reserved call it did not use', async () => {
    const [generator] = await registerGenerator(world, ['lead-v1']);
    const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel, { params: { temperature: 0, seed: 22 } }), {
      budget: { maxCalls: 1000, maxCostUsd: 10 },
    });
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: generator,
      datasetId: dataset.datasetId,
      metricSuiteId: suiteId,
    });
    const run = await waitForRun(world.editor, started.body.runId, 180_000);
    expect(run.status).toBe('succeeded');
    expect(run.cost.calls).toBe(600);
    expect(run.results.judge.partial).toBeUndefined();
    expect(run.budget.reservedCalls).toBe(600);
    expect(run.budget.reservedCostUsd).toBeCloseTo(run.cost.totalUsd, 6);
    expect(run.budget.exhaustedAt).toBeNull();
  });
});
