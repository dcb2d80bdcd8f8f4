import { setMaxListeners } from 'node:events';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { canonicalJson, sha256Hex } from '../../common/canonical';
import type { Logger } from '../../common/logger';
import { retentionExpiry } from '../../common/retention';
import type { Storage } from '../../common/storage';
import { CostEstimator, openRunLease, releaseQuietly, type BudgetLease } from '../budget';
import { lookupPredictions, predictionCacheKey, storePredictions, type NewCacheEntry } from '../cache/predictionCache';
import { addJudgeRecord, emptyJudgeTotals, prepareShardJudging, type JudgeTotals, type ShardJudging } from '../judge/shardJudging';
import type { ChatInput, ChatResult, ModelCallResult } from '../models/types';
import { loadRunContext, type RunContext } from './context';
import { runKeys } from './keys';
import { accumulatorSpec, createRunAccumulator, toMetricExample } from './metricsBridge';
import { callCostUsd, splitRow, type ExampleRecord } from './records';

export interface ShardInput { runId: string; shardIndex: number }
export interface ShardSummary extends JudgeTotals {
  shardIndex: number; rows: number; modelCalls: number; cacheHits: number; errors: number;
  costUsd: number; inputTokens: number; outputTokens: number;
  /** The run's budget ran out: the shard stopped after writing what it had (status 'partial'). */
  budgetStopped?: boolean;
}
interface Checkpoint { offset: number; parts: number }

export interface Predictor {
  predict(input: {
    endpoint: RunContext['endpoint']; taskType: RunContext['taskType']; promptTemplate: string | null;
    params: Record<string, unknown>; row: Record<string, unknown>; signal?: AbortSignal;
  }): Promise<ModelCallResult>;
  /** Judge calls: the same client, so they share each endpoint's limits and retries. */
  chat(input: ChatInput): Promise<ChatResult>;
}

export interface ShardDeps {
  pool: Pool; storage: Storage; models: Predictor; logger: Logger; partRows?: number;
  /** Calls a shard reserves from its run's budget at a time (see activities/budget/lease.ts). */
  budgetBlockCalls?: number;
}

/** Fraction of rows that may fail (after retries) before the run is failed. */
const MAX_ERROR_RATE = 0.05;
const MIN_ROWS_FOR_RATE = 50;
/** This many unavailable-type failures in a row, with no success between, means the endpoint is down. */
const CONSECUTIVE_UNAVAILABLE_LIMIT = 16;
const UNAVAILABLE = new Set(['network', 'timeout', 'server_error', 'rate_limited']);

const emptySummary = (shardIndex: number): ShardSummary => ({
  shardIndex, rows: 0, modelCalls: 0, cacheHits: 0, errors: 0, costUsd: 0, inputTokens: 0, outputTokens: 0, ...emptyJudgeTotals(),
});

/** Marks an example the budget left unattempted: it goes in no part and counts nowhere. */
const NOT_ATTEMPTED = Symbol('not attempted: budget exhausted');

function addRecord(summary: ShardSummary, record: ExampleRecord, judging: ShardJudging | null): void {
  if (judging) addJudgeRecord(summary, record, judging.config.output);
  summary.rows += 1;
  if (record.cached) summary.cacheHits += 1;
  else if (record.error?.class !== 'cancelled') summary.modelCalls += 1;
  if (record.error) summary.errors += 1;
  summary.costUsd += record.costUsd ?? 0;
  summary.inputTokens += record.usage?.inputTokens ?? 0;
  summary.outputTokens += record.usage?.outputTokens ?? 0;
}

/**
 * Runs one dataset shard through the model: streams its rows, answers what it can from
 * the prediction cache, calls the endpoint for the rest, and writes per-example records
 * in parts under deterministic keys. After each part it heartbeats {offset, parts}; a
 * retried attempt replays the written parts (no model calls) and continues from there.
 */
export function createRunShard(deps: ShardDeps) {
  const partRows = deps.partRows ?? 500;

  return async function runShard(input: ShardInput): Promise<ShardSummary> {
    const activity = Context.current();
    const ctx = await loadRunContext(deps.pool, input.runId);
    const shard = ctx.shards[input.shardIndex];
    if (!shard) throw ApplicationFailure.create({ type: 'dataset_unreadable', message: `run ${input.runId} has no shard ${input.shardIndex}`, nonRetryable: true });
    const log = deps.logger.child({ runId: input.runId, shard: input.shardIndex });
    const accumulator = createRunAccumulator(ctx);
    const summary = emptySummary(input.shardIndex);
    const rows = await readShardRows(deps.storage, shard.objectKey);
    const lease = await openRunLease(deps.pool, input.runId, deps.budgetBlockCalls);
    const judging = await prepareShardJudging(deps, input.runId, ctx.taskType, lease);

    const checkpoint = activity.info.heartbeatDetails as Checkpoint | undefined;
    let part = 0;
    let offset = 0;
    if (checkpoint && checkpoint.parts > 0) {
      for (; part < checkpoint.parts; part += 1) {
        const text = (await deps.storage.getBuffer(runKeys.part(input.runId, input.shardIndex, part))).toString('utf8');
        for (const line of text.split('\n')) {
          if (!line) continue;
          const record = JSON.parse(line) as ExampleRecord;
          addRecord(summary, record, judging);
          if (!record.error) accumulator.add(toMetricExample(record));
        }
      }
      offset = checkpoint.offset;
      log.info({ offset, parts: part }, 'resuming shard from checkpoint');
    }

    const expiresAt = retentionExpiry(ctx.classification);
    try {
      while (offset < rows.length) {
        const end = Math.min(offset + partRows, rows.length);
        const { records, newEntries, budgetStopped } = await processPart({ ...deps, lease, judging }, ctx, rows.slice(offset, end), activity.cancellationSignal);
        // Transcripts first: a part that exists always has its transcripts.
        if (judging) await judging.flushPart(input.runId, input.shardIndex, part, expiresAt);
        if (records.length) await deps.storage.put(runKeys.part(input.runId, input.shardIndex, part), records.map((r) => JSON.stringify(r)).join('\n') + '\n', 'application/x-ndjson');
        await storePredictions(deps.pool, ctx.modelVersionId, ctx.paramsHash, expiresAt, newEntries);
        for (const record of records) {
          addRecord(summary, record, judging);
          if (!record.error) accumulator.add(toMetricExample(record));
        }
        await releaseQuietly(lease);
        if (budgetStopped) return await stopOnBudget(deps, input, shard.rowCount, summary, accumulator, log);
        part += 1;
        offset = end;
        await recordShardProgress(deps.pool, input.runId, input.shardIndex, shard.rowCount, summary, 'running');
        activity.heartbeat({ offset, parts: part } satisfies Checkpoint);
        failOnErrorRate(summary, records);
        if (judging) failOnJudgeErrorRate(summary, judging.config.errorRateLimit);
      }
    } finally {
      await releaseQuietly(lease);
    }

    await deps.storage.put(runKeys.shardState(input.runId, input.shardIndex), JSON.stringify(accumulator.toJSON()), 'application/json');
    await recordShardProgress(deps.pool, input.runId, input.shardIndex, shard.rowCount, summary, 'done');
    return summary;
  };
}

/**
 * The budget ran out mid-part: what was done stays (the part holds the attempted examples,
 * the shard state their metrics, the progress row says 'partial'), and the run stops.
 */
async function stopOnBudget(
  deps: ShardDeps, input: ShardInput, rowCount: number, summary: ShardSummary, accumulator: ReturnType<typeof createRunAccumulator>, log: Logger,
): Promise<never> {
  summary.budgetStopped = true;
  await deps.storage.put(runKeys.shardState(input.runId, input.shardIndex), JSON.stringify(accumulator.toJSON()), 'application/json');
  await recordShardProgress(deps.pool, input.runId, input.shardIndex, rowCount, summary, 'partial');
  log.info({ rows: summary.rows, modelCalls: summary.modelCalls, judgeCalls: summary.judgeCalls }, 'shard stopped: run budget exhausted');
  throw ApplicationFailure.create({
    type: 'budget_exceeded', nonRetryable: true,
    message: `the run's budget is exhausted after ${summary.rows} examples of shard ${input.shardIndex}; partial results are kept`,
  });
}

async function readShardRows(storage: Storage, key: string): Promise<Record<string, any>[]> {
  let text: string;
  try {
    text = (await storage.getBuffer(key)).toString('utf8');
  } catch (err) {
    throw ApplicationFailure.create({ type: 'dataset_unreadable', message: `dataset shard ${key} could not be read: ${(err as Error).message}`, nonRetryable: false });
  }
  const rows: Record<string, any>[] = [];
  for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line));
  return rows;
}

type PartDeps = ShardDeps & { lease: BudgetLease | null; judging: ShardJudging | null };

const estimators = new WeakMap<RunContext, CostEstimator>();
const estimatorFor = (ctx: RunContext) => {
  let estimator = estimators.get(ctx);
  if (!estimator) estimators.set(ctx, (estimator = new CostEstimator(ctx.pricing, ctx.params)));
  return estimator;
};

async function processPart(deps: PartDeps, ctx: RunContext, rows: Record<string, any>[], cancellation: AbortSignal) {
  const prepared = rows.map((row) => {
    const { modelInput, truth } = splitRow(ctx.taskType, row);
    const canonical = canonicalJson(modelInput);
    const inputHash = sha256Hex(canonical);
    // The canonical JSON's length doubles as the size the budget estimates the call's prompt by.
    return { row, modelInput, truth, inputHash, inputChars: canonical.length, key: predictionCacheKey(ctx.modelVersionId, inputHash, ctx.paramsHash) };
  });
  const cached = await lookupPredictions(deps.pool, prepared.map((p) => p.key));
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every in-flight call of the part listens to it
  const onCancel = () => abort.abort(cancellation.reason);
  cancellation.addEventListener('abort', onCancel, { once: true });
  let consecutiveUnavailable = 0;
  let budgetStopped = false;
  const newEntries: NewCacheEntry[] = [];
  const { lease, judging } = deps;
  const estimator = estimatorFor(ctx);

  /** Judges the candidate's output as soon as it exists (pipelined per example, not per part). */
  const judged = async (record: ExampleRecord, row: Record<string, any>): Promise<ExampleRecord> => {
    if (!judging || record.prediction?.output === undefined || abort.signal.aborted) return record;
    const result = await judging.judgeOne({ id: record.id, row, output: record.prediction.output, signal: abort.signal });
    judging.collect(result.transcripts, result.newEntries);
    if (result.outcome.skipped) budgetStopped = true;
    return { ...record, judge: result.outcome, ...(result.judgeScore !== undefined ? { judgeScore: result.judgeScore } : {}) };
  };

  try {
    const outcomes = await Promise.all(prepared.map(async (p): Promise<ExampleRecord | typeof NOT_ATTEMPTED> => {
      const base: ExampleRecord = { id: p.row.id, ...(p.row.tags ? { tags: p.row.tags } : {}), ...p.truth };
      const hit = cached.get(p.key);
      if (hit) return judged(withCorrectness({ ...base, prediction: hit.prediction as ExampleRecord['prediction'], cached: true }), p.row);
      if (abort.signal.aborted) return { ...base, error: { class: 'cancelled', message: 'not attempted: the shard was stopped' } };
      if (budgetStopped) return NOT_ATTEMPTED;
      const permit = lease ? await lease.acquire(estimator.estimate((ctx.promptTemplate?.length ?? 0) + p.inputChars)) : null;
      if (lease && !permit) {
        budgetStopped = true;
        return NOT_ATTEMPTED;
      }
      const result = await deps.models.predict({
        endpoint: ctx.endpoint, taskType: ctx.taskType, promptTemplate: ctx.promptTemplate, params: ctx.params, row: p.modelInput, signal: abort.signal,
      });
      const callCost = result.error || !result.prediction ? 0 : callCostUsd(ctx.pricing, result.usage);
      if (permit) lease!.settle(permit, callCost);
      estimator.observe(result.usage);
      if (result.error || !result.prediction) {
        if (result.error && UNAVAILABLE.has(result.error.class) && ++consecutiveUnavailable >= CONSECUTIVE_UNAVAILABLE_LIMIT && !abort.signal.aborted) {
          abort.abort(new Error('endpoint unavailable'));
        }
        return { ...base, error: result.error ?? { class: 'bad_response', message: 'no prediction in the response' }, ...(result.usage ? { usage: result.usage } : {}) };
      }
      consecutiveUnavailable = 0;
      newEntries.push({ key: p.key, inputHash: p.inputHash, prediction: result.prediction, usage: result.usage ?? null });
      return judged(withCorrectness({ ...base, prediction: result.prediction, ...(result.usage ? { usage: result.usage } : {}), costUsd: callCost }), p.row);
    }));
    const records = outcomes.filter((r): r is ExampleRecord => r !== NOT_ATTEMPTED);
    if (cancellation.aborted) throw ApplicationFailure.create({ type: 'cancelled', message: 'shard cancelled', nonRetryable: true });
    if (consecutiveUnavailable >= CONSECUTIVE_UNAVAILABLE_LIMIT) {
      const sample = records.find((r) => r.error && r.error.class !== 'cancelled')?.error;
      throw ApplicationFailure.create({
        type: 'model_unavailable', nonRetryable: true,
        message: `model endpoint ${ctx.endpoint.url} failed ${consecutiveUnavailable} calls in a row after retries (last: ${sample?.class}: ${sample?.message})`,
      });
    }
    return { records, newEntries, budgetStopped };
  } finally {
    cancellation.removeEventListener('abort', onCancel);
  }
}

function withCorrectness(record: ExampleRecord): ExampleRecord {
  if (record.label !== undefined && record.prediction?.label !== undefined) record.correct = record.prediction.label === record.label;
  return record;
}

function failOnErrorRate(summary: ShardSummary, part: ExampleRecord[]): void {
  if (summary.rows < MIN_ROWS_FOR_RATE || summary.errors / summary.rows <= MAX_ERROR_RATE) return;
  const sample = part.find((r) => r.error)?.error;
  const unavailable = sample && UNAVAILABLE.has(sample.class);
  throw ApplicationFailure.create({
    type: unavailable ? 'model_unavailable' : 'model_errors', nonRetryable: true,
    message: `${summary.errors} of ${summary.rows} examples failed after retries (limit ${MAX_ERROR_RATE * 100}%); last: ${sample?.class}: ${sample?.message}`,
  });
}

/**
 * A shard stops early only when its judge is clearly unreliable (twice the suite's limit
 * over at least 200 judged examples): the exact limit is applied to the whole run when it
 * is finalised, so one unlucky shard cannot fail a run that is within it.
 */
const JUDGE_FAIL_FAST_MIN_JUDGED = 200;

function failOnJudgeErrorRate(summary: ShardSummary, limit: number): void {
  if (summary.judged < JUDGE_FAIL_FAST_MIN_JUDGED || summary.judgeErrors / summary.judged <= 2 * limit) return;
  throw ApplicationFailure.create({
    type: 'judge_unreliable', nonRetryable: true,
    message: `the judge failed on ${summary.judgeErrors} of ${summary.judged} examples (limit ${(limit * 100).toFixed(1)}%): unparseable or failed judge calls after one retry`,
  });
}

async function recordShardProgress(pool: Pool, runId: string, shardIndex: number, rowCount: number, s: ShardSummary, status: 'running' | 'done' | 'partial') {
  await pool.query(
    `INSERT INTO eval_run_shards (run_id, shard_index, status, rows_done, row_count, calls_model, cache_hits, errors, cost_usd, input_tokens, output_tokens,
                                  calls_judge, judged, judge_errors, judge_cache_hits, judge_cost_usd, judge_input_tokens, judge_output_tokens, judge_stats, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now())
     ON CONFLICT (run_id, shard_index) DO UPDATE SET status = EXCLUDED.status, rows_done = EXCLUDED.rows_done,
       calls_model = EXCLUDED.calls_model, cache_hits = EXCLUDED.cache_hits, errors = EXCLUDED.errors, cost_usd = EXCLUDED.cost_usd,
       input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, calls_judge = EXCLUDED.calls_judge, judged = EXCLUDED.judged,
       judge_errors = EXCLUDED.judge_errors, judge_cache_hits = EXCLUDED.judge_cache_hits, judge_cost_usd = EXCLUDED.judge_cost_usd,
       judge_input_tokens = EXCLUDED.judge_input_tokens, judge_output_tokens = EXCLUDED.judge_output_tokens, judge_stats = EXCLUDED.judge_stats, updated_at = now()`,
    [runId, shardIndex, status, s.rows, rowCount, s.modelCalls, s.cacheHits, s.errors, s.costUsd, s.inputTokens, s.outputTokens,
      s.judgeCalls, s.judged, s.judgeErrors, s.judgeCacheHits, s.judgeCostUsd, s.judgeInputTokens, s.judgeOutputTokens, JSON.stringify(s.judgeStats)]);
}
