/**
 * One part of a shard: its rows through the prediction cache, the model endpoint (under
 * the run's budget) and, for judged suites, the judge — each example judged as soon as
 * its output exists. A part never throws for one example's failure; it throws only to
 * stop the shard (cancelled, endpoint unavailable).
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { canonicalJson, sha256Hex } from '../../common/canonical';
import { CostEstimator, type BudgetLease } from '../../domain/budgets';
import { lookupPredictions, type CachedPrediction, type NewCacheEntry } from '../../domain/cache/dal';
import { predictionCacheKey } from '../../domain/cache/predictionCache';
import type { NewJudgement } from '../../domain/judge/dal';
import type { JudgeTranscript } from '../../domain/judge/types';
import type { ShardJudging } from '../judge/shardJudging';
import type { ChatInput, ChatResult, ModelCallResult, PredictInput } from '../../domain/models/types';
import type { RunContext } from '../../domain/runs/context';
import { INPUT_HASH_BYTES } from '../../domain/runs/keys';
import { callCostUsd, splitRow, type ExampleRecord } from '../../domain/runs/records';

export interface Predictor {
  predict(input: PredictInput): Promise<ModelCallResult>;
  /** Judge calls: the same client, so they share each endpoint's limits and retries. */
  chat(input: ChatInput): Promise<ChatResult>;
}

/**
 * The shard's input hashes (32 bytes per row, see keys.ts): `known` when stored by an
 * earlier run, else `record` collects the ones this run computes.
 */
export interface InputHashes {
  known: Buffer | null;
  record: Buffer | null;
}

/**
 * The shard's example truths (see keys.ts: each row's id, tags and truth, in row order):
 * `known` when stored by an earlier run, else `record` collects them.
 */
export interface ExampleTruths {
  known: ExampleRecord[] | null;
  record: ExampleRecord[] | null;
}

export interface PartDeps {
  pool: Pool;
  models: Predictor;
  lease: BudgetLease | null;
  judging: ShardJudging | null;
  inputHashes?: InputHashes;
  truths?: ExampleTruths;
  /** Examples of the part in flight at once when the endpoint declares no concurrency limit (the worker's default limit). */
  defaultLanes?: number;
}

export interface PartOutcome {
  /** Attempted examples, in row order (examples the budget left unattempted are not here). */
  records: ExampleRecord[];
  newEntries: NewCacheEntry[];
  transcripts: JudgeTranscript[];
  judgeEntries: NewJudgement[];
  budgetStopped: boolean;
}

/** This many unavailable-type failures in a row, with no success between, means the endpoint is down. */
export const CONSECUTIVE_UNAVAILABLE_LIMIT = 16;
export const UNAVAILABLE = new Set(['network', 'timeout', 'server_error', 'rate_limited']);

/** The reason a shard's stop signal carries when its endpoint is down: every part in flight then fails the same way. */
export class EndpointUnavailable extends Error {}

/** The stop reason when the egress policy refused the endpoint's address: no example of the run can be sent. */
export class EndpointNotAllowed extends Error {}

/** Where a part's rows come from: a shard's rows parsed on demand. */
export interface RowSource {
  readonly length: number;
  slice(from: number, to: number): Record<string, any>[];
  row(i: number): Record<string, any>;
}

/** Lanes of a part when neither the endpoint nor the worker says how many calls it may have in flight. */
const DEFAULT_LANES = 64;

/** Marks an example the budget left unattempted: it goes in no part and counts nowhere. */
const NOT_ATTEMPTED = Symbol('not attempted: budget exhausted');

const estimators = new WeakMap<RunContext, CostEstimator>();
const estimatorFor = (ctx: RunContext) => {
  let estimator = estimators.get(ctx);
  if (!estimator) estimators.set(ctx, (estimator = new CostEstimator(ctx.pricing, ctx.params)));
  return estimator;
};

/** The shard's control of its parts. */
export interface PartControl {
  /** The shard's: cancelling the activity or an unavailable endpoint aborts every call of every part in flight. */
  stop: AbortController;
  cancellation: AbortSignal;
  /**
   * Called once the shard may start its next part: when every example of this one has been
   * answered from the cache or taken by a lane (the rest are in flight) — or at once when
   * judging, since a judged example holds its lane through the model's call and then the
   * judge's, and the next part's lanes keep both endpoints busy (a pipeline).
   */
  onDispatched?: () => void;
}

/**
 * An example on its way: what its record needs, its cache key, and only as much of the row
 * as its call still needs. Examples waiting for a lane are most of what a worker holds, and
 * each full row's text surviving young-generation collections was a large share of its CPU.
 */
interface Prepared {
  /** id, tags and truth: what every record of the example starts from. */
  base: ExampleRecord;
  inputHash: string;
  key: string;
  /** The canonical JSON of the model input, sent as the json-predict body; dropped once sent or answered from the cache. */
  body: string | undefined;
  /** The model input, when the call cannot do with `body` alone (openai-chat, or hashes stored by an earlier run). */
  modelInput: Record<string, unknown> | undefined;
  /** The whole row, for the judge only. */
  row: Record<string, any> | undefined;
}

export async function processPart(
  deps: PartDeps,
  ctx: RunContext,
  rows: RowSource,
  range: { from: number; to: number },
  control: PartControl,
): Promise<PartOutcome> {
  const { stop, cancellation } = control;
  const { known: knownHashes, record: newHashes } = deps.inputHashes ?? { known: null, record: null };
  const { known: knownTruths, record: newTruths } = deps.truths ?? { known: null, record: null };
  const bodyIsEnough = ctx.endpoint.protocol === 'json-predict';
  const hashAt = (i: number) =>
    knownHashes?.toString('hex', (range.from + i) * INPUT_HASH_BYTES, (range.from + i + 1) * INPUT_HASH_BYTES);
  /** Example i of the part, from its row. */
  const prepare = (row: Record<string, any>, i: number): Prepared => {
    const { modelInput, truth } = splitRow(ctx.taskType, row);
    let inputHash = hashAt(i);
    let body: string | undefined;
    if (inputHash === undefined) {
      // The canonical JSON doubles as a json-predict body.
      body = canonicalJson(modelInput);
      inputHash = sha256Hex(body);
      newHashes?.write(inputHash, (range.from + i) * INPUT_HASH_BYTES, INPUT_HASH_BYTES, 'hex');
    }
    const base: ExampleRecord = { id: row.id, ...(row.tags ? { tags: row.tags } : {}), ...truth };
    if (newTruths) newTruths[range.from + i] = base;
    return {
      base,
      inputHash,
      key: predictionCacheKey(ctx.modelVersionId, inputHash, ctx.paramsHash),
      body,
      modelInput: body !== undefined && bodyIsEnough ? undefined : modelInput,
      row: deps.judging ? row : undefined,
    };
  };
  // With the shard's hashes and truths stored and nothing to judge, a cache hit needs
  // nothing from its row: rows are parsed for the misses only.
  const count = Math.max(0, Math.min(range.to, rows.length) - range.from);
  const truthsOnly = knownHashes !== null && knownTruths !== null && !deps.judging;
  const prepared: (Prepared | undefined)[] = truthsOnly
    ? new Array(count)
    : rows.slice(range.from, range.to).map(prepare);
  const keys = truthsOnly
    ? Array.from({ length: count }, (_, i) => predictionCacheKey(ctx.modelVersionId, hashAt(i)!, ctx.paramsHash))
    : prepared.map((p) => p!.key);
  const cached = await lookupPredictions(deps.pool, keys);
  const signal = stop.signal;
  let consecutiveUnavailable = 0;
  let budgetStopped = false;
  const outcome: PartOutcome = { records: [], newEntries: [], transcripts: [], judgeEntries: [], budgetStopped: false };
  const { lease, judging } = deps;
  const estimator = estimatorFor(ctx);

  /** Judges the candidate's output as soon as it exists (pipelined per example, not per part). */
  const judged = async (record: ExampleRecord, row: Record<string, any> | undefined): Promise<ExampleRecord> => {
    if (!judging || !row || record.prediction?.output === undefined || signal.aborted) return record;
    const result = await judging.judgeOne({ id: record.id, row, output: record.prediction.output, signal });
    for (const t of result.transcripts) outcome.transcripts.push(t);
    for (const e of result.newEntries) outcome.judgeEntries.push(e);
    if (result.outcome.skipped) budgetStopped = true;
    return {
      ...record,
      judge: result.outcome,
      ...(result.judgeScore !== undefined ? { judgeScore: result.judgeScore } : {}),
    };
  };

  const fromCache = (base: ExampleRecord, hit: CachedPrediction): ExampleRecord =>
    withCorrectness({ ...base, prediction: hit.prediction as ExampleRecord['prediction'], cached: true });

  const attempt = async (p: Prepared, onBackoff: () => void): Promise<ExampleRecord | typeof NOT_ATTEMPTED> => {
    const { base, body, modelInput, row } = p;
    p.body = p.modelInput = p.row = undefined;
    const hit = cached.get(p.key);
    if (hit) return judged(fromCache(base, hit), row);
    if (signal.aborted)
      return { ...base, error: { class: 'cancelled', message: 'not attempted: the shard was stopped' } };
    if (budgetStopped) return NOT_ATTEMPTED;
    // The budget estimates the call's prompt by the size of the input's JSON.
    const permit = lease
      ? await lease.acquire(
          estimator.estimate((ctx.promptTemplate?.length ?? 0) + (body ?? canonicalJson(modelInput)).length),
        )
      : null;
    if (lease && !permit) {
      budgetStopped = true;
      return NOT_ATTEMPTED;
    }
    const call = {
      endpoint: ctx.endpoint,
      taskType: ctx.taskType,
      promptTemplate: ctx.promptTemplate,
      params: ctx.params,
      signal,
      onBackoff,
      mode: ctx.mode,
    };
    const result = await deps.models.predict(
      modelInput ? { ...call, row: modelInput, rowJson: body } : { ...call, rowJson: body! },
    );
    const callCost = result.error || !result.prediction ? 0 : callCostUsd(ctx.pricing, result.usage);
    if (permit) lease!.settle(permit, callCost);
    estimator.observe(result.usage);
    if (result.error || !result.prediction) {
      const error = result.error ?? { class: 'bad_response' as const, message: 'no prediction in the response' };
      if (error.class === 'endpoint_not_allowed' && !signal.aborted)
        stop.abort(new EndpointNotAllowed(`model endpoint ${ctx.endpoint.url}: ${error.message}`));
      if (
        UNAVAILABLE.has(error.class) &&
        ++consecutiveUnavailable >= CONSECUTIVE_UNAVAILABLE_LIMIT &&
        !signal.aborted
      ) {
        stop.abort(
          new EndpointUnavailable(
            `model endpoint ${ctx.endpoint.url} failed ${consecutiveUnavailable} calls in a row after retries (last: ` +
              `${error.class}: ${error.message})`,
          ),
        );
      }
      return { ...base, error, ...(result.usage ? { usage: result.usage } : {}) };
    }
    consecutiveUnavailable = 0;
    outcome.newEntries.push({
      key: p.key,
      inputHash: p.inputHash,
      prediction: result.prediction,
      usage: result.usage ?? null,
    });
    return judged(
      withCorrectness({
        ...base,
        prediction: result.prediction,
        ...(result.usage ? { usage: result.usage } : {}),
        costUsd: callCost,
      }),
      row,
    );
  };

  // Cache hits with nothing to judge are recorded at once. The rest go through a fixed
  // number of lanes, each taking the next example: enough to keep the endpoint at its
  // concurrency limit on its own, without thousands of suspended calls per part (they all
  // outlived young-generation collections, and the copying was a large share of a worker's
  // CPU). Results stay in row order.
  const examples: (ExampleRecord | typeof NOT_ATTEMPTED)[] = new Array(count);
  const pending: number[] = [];
  for (let i = 0; i < count; i++) {
    const hit = judging ? undefined : cached.get(keys[i]);
    if (hit) {
      examples[i] = fromCache(truthsOnly ? knownTruths[range.from + i] : prepared[i]!.base, hit);
      prepared[i] = undefined;
    } else {
      prepared[i] ??= prepare(rows.row(range.from + i), i);
      pending.push(i);
    }
  }
  const lanes = Math.min(
    pending.length,
    Math.max(1, ctx.endpoint.maxConcurrency ?? deps.defaultLanes ?? DEFAULT_LANES),
  );
  let next = 0;
  let dispatched = false;
  if (judging) {
    dispatched = true;
    control.onDispatched?.();
  }
  const takeNext = () => {
    const k = next++;
    if (k >= pending.length - 1 && !dispatched) {
      dispatched = true;
      control.onDispatched?.();
    }
    return k;
  };
  if (pending.length === 0) takeNext();
  // A lane is free again when its example is answered — or as soon as the example waits out a
  // backoff or a Retry-After (it holds no endpoint permit then): waiting examples do not starve
  // the endpoint of the part's others. The waiting ones still finish before the part does.
  const waiting: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let k = takeNext(); k < pending.length; k = takeNext()) {
        const index = pending[k];
        await new Promise<void>((laneFree, laneFail) => {
          let detached = false;
          const done: Promise<void> = attempt(prepared[index]!, () => {
            detached = true;
            waiting.push(done);
            laneFree();
          }).then(
            (record) => {
              examples[index] = record;
              laneFree();
            },
            (err: unknown) => {
              if (detached) throw err; // awaited with the waiting ones
              laneFail(err);
            },
          );
        });
      }
    }),
  );
  await Promise.all(waiting);
  if (cancellation.aborted)
    throw ApplicationFailure.create({ type: 'cancelled', message: 'shard cancelled', nonRetryable: true });
  if (signal.reason instanceof EndpointNotAllowed)
    throw ApplicationFailure.create({
      type: 'endpoint_not_allowed',
      nonRetryable: true,
      message: signal.reason.message,
    });
  if (signal.reason instanceof EndpointUnavailable)
    throw ApplicationFailure.create({ type: 'model_unavailable', nonRetryable: true, message: signal.reason.message });
  outcome.records = examples.filter((r): r is ExampleRecord => r !== NOT_ATTEMPTED);
  outcome.budgetStopped = budgetStopped;
  return outcome;
}

function withCorrectness(record: ExampleRecord): ExampleRecord {
  if (record.label !== undefined && record.prediction?.label !== undefined)
    record.correct = record.prediction.label === record.label;
  return record;
}
