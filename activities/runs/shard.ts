import { setMaxListeners } from 'node:events';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { BUDGET_EXCEEDED, QUOTA_EXCEEDED } from '../../common/incidentFailures';
import type { Logger } from '../../common/logger';
import { expiryAfter } from '../../common/retention';
import { isStorageUnavailable, STORAGE_UNAVAILABLE, type Storage } from '../../common/storage';
import { openRunLease, releaseQuietly } from '../../domain/budgets';
import { storePredictions } from '../../domain/cache/dal';
import {
  addJudgeRecord,
  emptyJudgeTotals,
  prepareShardJudging,
  type JudgeTotals,
  type ShardJudging,
} from '../judge/shardJudging';
import { loadRunContext } from '../../domain/runs/context';
import { ENDPOINT_NOT_AUTHORIZED, runEgressRefusal } from '../../domain/access/runEgress';
import { upsertShardProgress, type ShardProgress } from '../../domain/runs/dal';
import { exampleTruthsKey, INPUT_HASH_BYTES, inputHashesKey, runKeys } from '../../domain/runs/keys';
import { createRunAccumulator } from './metricsBridge';
import { toMetricExample } from '../../domain/runs/records';
import { processPart, UNAVAILABLE, type PartOutcome, type Predictor } from './part';
import type { ExampleRecord } from '../../domain/runs/records';
import { ShardRows } from './shardRows';

export type { Predictor } from './part';

export interface ShardInput {
  runId: string;
  shardIndex: number;
}
/** The progress counters its checkpoint records (ShardProgress), with the judge's typed totals. */
export interface ShardSummary extends JudgeTotals, Omit<ShardProgress, keyof JudgeTotals> {
  shardIndex: number;
  /** The run's budget ran out: the shard stopped after writing what it had (status 'partial'). */
  budgetStopped?: boolean;
}
interface Checkpoint {
  offset: number;
  parts: number;
}
interface InFlightPart {
  index: number;
  end: number;
  result: Promise<PartOutcome>;
  /** The part says the next one may start (PartControl.onDispatched), or it ended. */
  dispatched: Promise<void>;
  isDispatched: boolean;
}

export interface ShardDeps {
  pool: Pool;
  storage: Storage;
  models: Predictor;
  logger: Logger;
  partRows?: number;
  /** Calls a shard reserves from its run's budget at a time (see domain/budgets/lease.ts). */
  budgetBlockCalls?: number;
  /** Model and judge calls a team may make per UTC day (EVALGATE_TEAM_DAILY_CALL_QUOTA; 0: no quota). */
  teamDailyCallQuota?: number;
  /** The worker's concurrency limit for endpoints that declare none (EVALGATE_MODEL_MAX_CONCURRENCY): a part's lanes. */
  modelConcurrency?: number;
}

/** Fraction of rows that may fail (after retries) before the run is failed. */
const MAX_ERROR_RATE = 0.05;
const MIN_ROWS_FOR_RATE = 50;
/**
 * Parts of a shard in flight at most (two when judging: a judged part dispatches at once). More
 * than two keep the endpoint busy while earlier parts' last examples wait out a Retry-After; a
 * retried attempt repeats at most this many parts' calls (from the prediction cache, mostly).
 */
const MAX_PARTS_IN_FLIGHT = 8;
/** Heartbeats between parts too, so a slow part never looks like a dead worker (the SDK throttles what it sends). */
const HEARTBEAT_EVERY_MS = 1000;

const emptySummary = (shardIndex: number): ShardSummary => ({
  shardIndex,
  rows: 0,
  modelCalls: 0,
  cacheHits: 0,
  errors: 0,
  costUsd: 0,
  inputTokens: 0,
  outputTokens: 0,
  ...emptyJudgeTotals(),
});

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
 *
 * Up to MAX_PARTS_IN_FLIGHT parts are in flight: the next part starts once the newest says so
 * (see PartControl.onDispatched), so its calls keep the endpoint busy while earlier parts' last
 * calls (their backoffs, their judge calls) finish and they are written — and no more examples
 * wait in the worker than that needs. Parts are still written and checkpointed in order.
 */
export function createRunShard(deps: ShardDeps) {
  const partRows = deps.partRows ?? 500;

  return async function runShard(input: ShardInput): Promise<ShardSummary> {
    const activity = Context.current();
    const ctx = await loadRunContext(deps.pool, input.runId);
    const shard = ctx.shards[input.shardIndex];
    if (!shard)
      throw ApplicationFailure.create({
        type: 'dataset_unreadable',
        message: `run ${input.runId} has no shard ${input.shardIndex}`,
        nonRetryable: true,
      });
    // Checked again here, not only where the run was created: no row leaves for an endpoint whose team may not read it.
    const refusal = await runEgressRefusal(deps.pool, input.runId);
    if (refusal)
      throw ApplicationFailure.create({ type: ENDPOINT_NOT_AUTHORIZED, message: refusal, nonRetryable: true });
    const log = deps.logger.child({ runId: input.runId, shard: input.shardIndex });
    const accumulator = createRunAccumulator(ctx);
    const summary = emptySummary(input.shardIndex);
    const rows = await readShardRows(deps.storage, shard.objectKey);
    const lease = await openRunLease(deps.pool, input.runId, deps.budgetBlockCalls, deps.teamDailyCallQuota);
    const judging = await prepareShardJudging(deps, input.runId, ctx.taskType, lease, ctx.mode);

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

    // Hashes and truths stored by an earlier run on this shard, else collected for the next
    // one (from a complete pass only: a resumed shard has not read the rows it skipped).
    const hashesKey = inputHashesKey(shard.objectKey, ctx.taskType);
    const truthsKey = exampleTruthsKey(shard.objectKey, ctx.taskType);
    const [known, knownTruths] = await Promise.all([
      readInputHashes(deps.storage, hashesKey, rows.length, log),
      readExampleTruths(deps.storage, truthsKey, rows.length, log),
    ]);
    const inputHashes = { known, record: known || offset > 0 ? null : Buffer.alloc(rows.length * INPUT_HASH_BYTES) };
    const truths = {
      known: knownTruths,
      record: knownTruths || offset > 0 ? null : new Array<ExampleRecord>(rows.length),
    };

    const retention = { expiresAt: expiryAfter(ctx.retentionSeconds), datasetVersionId: ctx.datasetVersionId };
    const persist = async (index: number, outcome: PartOutcome) => {
      // Transcripts first: a part that exists always has its transcripts.
      if (judging)
        await judging.persistPart(
          input.runId,
          input.shardIndex,
          index,
          retention,
          outcome.transcripts,
          outcome.judgeEntries,
        );
      if (outcome.records.length) {
        await deps.storage.put(
          runKeys.part(input.runId, input.shardIndex, index),
          outcome.records.map((r) => JSON.stringify(r)).join('\n') + '\n',
          'application/x-ndjson',
        );
      }
      await storePredictions(
        deps.pool,
        ctx.modelVersionId,
        ctx.paramsHash,
        retention.expiresAt,
        outcome.newEntries,
        ctx.datasetVersionId,
      );
      for (const record of outcome.records) {
        addRecord(summary, record, judging);
        if (!record.error) accumulator.add(toMetricExample(record));
      }
    };

    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // every in-flight call of the shard listens to it
    const onCancel = () => stop.abort(activity.cancellationSignal.reason);
    activity.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    const beat = setInterval(
      () => activity.heartbeat({ offset, parts: part } satisfies Checkpoint),
      HEARTBEAT_EVERY_MS,
    );
    const partDeps = {
      pool: deps.pool,
      models: deps.models,
      lease,
      judging,
      defaultLanes: deps.modelConcurrency,
      inputHashes,
      truths,
    };
    const launch = (from: number, index: number): InFlightPart => {
      const end = Math.min(from + partRows, rows.length);
      let onDispatched!: () => void;
      const dispatched = new Promise<void>((resolve) => (onDispatched = resolve));
      const inFlight: InFlightPart = { index, end, result: undefined!, dispatched, isDispatched: false };
      const markDispatched = () => {
        inFlight.isDispatched = true;
        onDispatched();
      };
      inFlight.result = processPart(
        partDeps,
        ctx,
        rows,
        { from, to: end },
        { stop, cancellation: activity.cancellationSignal, onDispatched: markDispatched },
      );
      inFlight.result.then(markDispatched, markDispatched); // awaited in order below; never an unhandled rejection
      return inFlight;
    };
    // Parts in flight, oldest first. A new part starts when the newest has dispatched all its
    // examples; several may be in flight while their last examples wait out Retry-Afters.
    const parts: InFlightPart[] = [];
    const depth = judging ? 2 : MAX_PARTS_IN_FLIGHT;
    const launchWhileRoom = async () => {
      for (;;) {
        const newest = parts[parts.length - 1];
        if (newest.end >= rows.length || parts.length >= depth) return;
        if (!newest.isDispatched) {
          // Whichever comes first: the newest part dispatched, or the oldest done (to be written).
          const head = parts[0].result.then(
            () => undefined,
            () => undefined,
          );
          await Promise.race([newest.dispatched, head]);
          if (!newest.isDispatched) return;
        }
        parts.push(launch(newest.end, newest.index + 1));
      }
    };
    try {
      if (offset < rows.length) parts.push(launch(offset, part));
      while (parts.length) {
        await launchWhileRoom();
        const current = parts[0];
        const outcome = await current.result;
        parts.shift();
        await persist(current.index, outcome);
        if (outcome.budgetStopped || lease?.exhausted) {
          // The parts in flight made calls too (the lease refuses them any more): keep them.
          while (parts.length) {
            const later = parts.shift()!;
            await persist(later.index, await later.result);
          }
          await releaseQuietly(lease);
          return await stopOnBudget(deps, input, shard.rowCount, summary, accumulator, log, lease?.quotaExhausted);
        }
        part = current.index + 1;
        offset = current.end;
        await upsertShardProgress(deps.pool, input.runId, input.shardIndex, shard.rowCount, summary, 'running');
        activity.heartbeat({ offset, parts: part } satisfies Checkpoint);
        failOnErrorRate(summary, outcome.records);
        if (judging) failOnJudgeErrorRate(summary, judging.config.errorRateLimit);
      }
    } catch (err) {
      stop.abort(err);
      await Promise.all(parts.map((p) => p.result.catch(() => undefined)));
      throw err;
    } finally {
      clearInterval(beat);
      activity.cancellationSignal.removeEventListener('abort', onCancel);
      await releaseQuietly(lease);
    }

    await deps.storage.put(
      runKeys.shardState(input.runId, input.shardIndex),
      JSON.stringify(accumulator.toJSON()),
      'application/json',
    );
    if (inputHashes.record)
      await deps.storage
        .put(hashesKey, inputHashes.record)
        .catch((err: Error) => log.warn({ err: err.message }, 'input hashes not stored'));
    if (truths.record)
      await deps.storage
        .put(truthsKey, JSON.stringify(truths.record), 'application/json')
        .catch((err: Error) => log.warn({ err: err.message }, 'example truths not stored'));
    await upsertShardProgress(deps.pool, input.runId, input.shardIndex, shard.rowCount, summary, 'done');
    return summary;
  };
}

/**
 * The budget ran out mid-part: what was done stays (the part holds the attempted examples,
 * the shard state their metrics, the progress row says 'partial'), and the run stops.
 */
async function stopOnBudget(
  deps: ShardDeps,
  input: ShardInput,
  rowCount: number,
  summary: ShardSummary,
  accumulator: ReturnType<typeof createRunAccumulator>,
  log: Logger,
  quotaExhausted = false,
): Promise<never> {
  summary.budgetStopped = true;
  await deps.storage.put(
    runKeys.shardState(input.runId, input.shardIndex),
    JSON.stringify(accumulator.toJSON()),
    'application/json',
  );
  await upsertShardProgress(deps.pool, input.runId, input.shardIndex, rowCount, summary, 'partial');
  log.info(
    { rows: summary.rows, modelCalls: summary.modelCalls, judgeCalls: summary.judgeCalls },
    quotaExhausted ? "shard stopped: the team's daily call quota is spent" : 'shard stopped: run budget exhausted',
  );
  if (quotaExhausted)
    throw ApplicationFailure.create({
      type: QUOTA_EXCEEDED,
      nonRetryable: true,
      message:
        `the daily model and judge call quota of the model's owning team is spent (it resets at 00:00 UTC); ` +
        `stopped after ${summary.rows} examples of shard ${input.shardIndex}, partial results are kept`,
    });
  throw ApplicationFailure.create({
    type: BUDGET_EXCEEDED,
    nonRetryable: true,
    message: `the run's budget is exhausted after ${summary.rows} examples of shard ${input.shardIndex}; partial results are kept`,
  });
}

/** A stored derivative of a shard, or null when there is none or it cannot be read now (logged: the shard then works from its rows). */
async function readDerived(storage: Storage, key: string, what: string, log: Logger): Promise<Buffer | null> {
  return storage.getBuffer(key).catch((err: Error & { code?: string }) => {
    if (err.code !== 'NoSuchKey' && err.code !== 'NotFound')
      log.warn({ err: err.message, key }, `stored ${what} unreadable; reading the rows`);
    return null;
  });
}

/** The stored input hashes of a shard, when there are some that fit its rows. */
async function readInputHashes(storage: Storage, key: string, rowCount: number, log: Logger): Promise<Buffer | null> {
  const bytes = await readDerived(storage, key, 'input hashes', log);
  return bytes && bytes.length === rowCount * INPUT_HASH_BYTES ? bytes : null;
}

/** The stored example truths of a shard, when there are some that fit its rows. */
async function readExampleTruths(
  storage: Storage,
  key: string,
  rowCount: number,
  log: Logger,
): Promise<ExampleRecord[] | null> {
  const bytes = await readDerived(storage, key, 'example truths', log);
  if (!bytes) return null;
  try {
    const truths = JSON.parse(bytes.toString('utf8')) as unknown;
    if (Array.isArray(truths) && truths.length === rowCount && truths.every((t) => typeof t?.id === 'string'))
      return truths as ExampleRecord[];
  } catch {
    // not JSON: as if absent
  }
  log.warn({ key }, 'stored example truths do not fit the shard; reading the rows');
  return null;
}

async function readShardRows(storage: Storage, key: string): Promise<ShardRows> {
  let bytes: Buffer;
  try {
    bytes = await storage.getBuffer(key);
  } catch (err) {
    // Object storage down or unwell: the activity's retries (with backoff) wait for it; the shard resumes from its checkpoint.
    if (isStorageUnavailable(err))
      throw ApplicationFailure.create({
        type: STORAGE_UNAVAILABLE,
        message: `dataset shard ${key} could not be read now: ${(err as Error).message}`,
        nonRetryable: false,
      });
    throw ApplicationFailure.create({
      type: 'dataset_unreadable',
      message: `dataset shard ${key} could not be read: ${(err as Error).message}`,
      nonRetryable: true,
    });
  }
  return new ShardRows(bytes, key);
}

function failOnErrorRate(summary: ShardSummary, part: ExampleRecord[]): void {
  if (summary.rows < MIN_ROWS_FOR_RATE || summary.errors / summary.rows <= MAX_ERROR_RATE) return;
  const sample = part.find((r) => r.error)?.error;
  const unavailable = sample && UNAVAILABLE.has(sample.class);
  throw ApplicationFailure.create({
    type: unavailable ? 'model_unavailable' : 'model_errors',
    nonRetryable: true,
    message:
      `${summary.errors} of ${summary.rows} examples failed after retries (limit ${MAX_ERROR_RATE * 100}%); last: ` +
      `${sample?.class}: ${sample?.message}`,
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
    type: 'judge_unreliable',
    nonRetryable: true,
    message:
      `the judge failed on ${summary.judgeErrors} of ${summary.judged} examples (limit ` +
      `${(limit * 100).toFixed(1)}%): unparseable or failed judge calls after one retry`,
  });
}
