/**
 * Re-judging a finished run's stored outputs with a replacement judge, as a judge
 * incident does: no model calls, one judge call per example (none the second time: the
 * judge cache), transcripts written where the caller says, under a budget if given.
 */
import { createModelClient } from '../../../activities/models/client';
import { BudgetLease, postgresBudgetStore } from '../../../domain/budgets';
import { judgeStoredRecords, loadShardItems } from '../../../activities/judge';
import { judgeConfigFromDefinition } from '../../../domain/judge/config';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import {
  JUDGE_PROMPT,
  judgeDef,
  readTranscripts,
  registerGenerationDataset,
  registerGenerator,
  registerJudgeModel,
  registerJudgedSuite,
} from './judgeWorld';

let world: EvalWorld;
let run: any;
let replacementJudge: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '25' });
  const dataset = await registerGenerationDataset(world, { limit: 50 });
  const judgeModel = await registerJudgeModel(world);
  replacementJudge = await registerJudgeModel(world, { perCallUsd: 0.01 });
  const suiteId = await registerJudgedSuite(world, judgeDef(judgeModel));
  const [generator] = await registerGenerator(world, ['lead-v1']);
  run = await waitForRun(
    world.editor,
    (
      await world.editor.post('/v1/eval-runs', {
        modelVersion: generator,
        datasetId: dataset.datasetId,
        metricSuiteId: suiteId,
      })
    ).body.runId,
  );
  expect(run.status).toBe('succeeded');
}, 120_000);
afterAll(() => world.close());

const models = () =>
  createModelClient({ timeoutMs: 10_000, maxAttempts: 3, retryBaseMs: 10, defaultMaxConcurrency: 16 });
const deps = () => ({ pool: world.stack.pool, storage: world.stack.storage, models: models() });

describe('judgeStoredRecords', () => {
  it("re-judges a shard's stored outputs with a replacement judge, calling only the judge; its cache answers the rerun", async () => {
    const judge = await judgeConfigFromDefinition(world.stack.pool, {
      modelVersion: replacementJudge,
      promptTemplate: `${JUDGE_PROMPT}\nBe strict.`,
      output: { format: 'json', scoreField: 'score', min: 1, max: 5 },
      params: { temperature: 0, seed: 3 },
      pinned: true,
    });
    expect(judge.fingerprint).not.toBe(run.judge.fingerprint);
    const items = await loadShardItems(world.stack, run.runId, 0);
    expect(items).toHaveLength(25);
    expect(items.every((i) => typeof i.row.reference === 'string' && i.record.prediction?.output !== undefined)).toBe(
      true,
    );

    world.server.resetStats();
    const transcriptKey = `incidents/test/runs/${run.runId}/shards/000000/judge-part-0000.jsonl`;
    const expiresAt = new Date(Date.now() + 86_400_000);
    const first = await judgeStoredRecords(deps(), { judge, items, transcriptKey, expiresAt });
    expect(world.server.stats().requests.byModel).toEqual({ 'judge-v1': 25 });
    expect(first.totals).toMatchObject({ judged: 25, judgeErrors: 0, judgeCalls: 25, judgeCacheHits: 0 });
    expect(first.totals.judgeCostUsd).toBeCloseTo(25 * 0.01, 12);
    expect(first.records.every((r) => r.judge?.calls === 1 && typeof r.judgeScore === 'number')).toBe(true);
    const lines = (await world.stack.storage.getBuffer(transcriptKey))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(25);
    expect(lines.every((t) => t.judgeFingerprint === judge.fingerprint && t.prompt.endsWith('Be strict.'))).toBe(true);
    // The run's own transcripts are untouched.
    expect((await readTranscripts(world, run.runId)).every((t) => t.judgeFingerprint === run.judge.fingerprint)).toBe(
      true,
    );

    world.server.resetStats();
    const again = await judgeStoredRecords(deps(), { judge, items, transcriptKey, expiresAt });
    expect(world.server.stats().requests.total).toBe(0);
    expect(again.totals).toMatchObject({ judged: 25, judgeCalls: 0, judgeCacheHits: 25 });
    expect(again.records.map((r) => r.judgeScore)).toEqual(first.records.map((r) => r.judgeScore));
  });

  it('stops judging when the lease it is given runs out', async () => {
    const judge = await judgeConfigFromDefinition(world.stack.pool, {
      modelVersion: replacementJudge,
      promptTemplate: JUDGE_PROMPT,
      output: { format: 'json', scoreField: 'score', min: 1, max: 5 },
      params: { temperature: 0, seed: 4 },
    });
    await world.stack.pool.query(
      'INSERT INTO run_budgets (run_id, max_calls) VALUES ($1, 10) ON CONFLICT (run_id) DO UPDATE SET max_calls = 10, reserved_calls = 0',
      [run.runId],
    );
    const lease = new BudgetLease(postgresBudgetStore(world.stack.pool), run.runId, 4);
    world.server.resetStats();
    const items = await loadShardItems(world.stack, run.runId, 1);
    const result = await judgeStoredRecords(deps(), {
      judge,
      items,
      lease,
      transcriptKey: `incidents/test/runs/${run.runId}/budget.jsonl`,
      expiresAt: new Date(Date.now() + 60_000),
    });
    await lease.release();
    expect(result.budgetStopped).toBe(true);
    expect(world.server.stats().requests.total).toBe(10);
    expect(result.records.filter((r) => r.judge?.skipped === 'budget_exceeded')).toHaveLength(15);
    expect(result.totals).toMatchObject({ judged: 10, judgeCalls: 10 });
  });
});
