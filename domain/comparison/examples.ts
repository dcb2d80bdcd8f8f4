/**
 * The examples of a comparison, one page at a time, aligned by example id: those that
 * regressed, improved or stayed the same between baseline and candidate, those with an
 * error in either run, and those only one run has. What the console's example table and
 * `GET /v1/eval-runs/{runId}/comparison/examples` show.
 *
 * A page streams the two runs' stored records shard by shard from the cursor and stops as
 * soon as it is full, so the first page costs about one shard whatever the dataset's size;
 * the inputs come from the dataset version's shards the page's examples sit in.
 */
import type { Storage } from '../../common/storage';
import type { Queryable } from '../../common/db';
import type { TaskType } from '../../common/rows';
import { normalizeAnswer } from '../metrics/generation/text';
import { splitRow, type ExampleRecord } from '../runs/records';
import { listDatasetShards } from '../runs/dal';
import type { ComparableRun } from './comparability';
import { binaryOutcome, decodeCursor, encodeCursor, shardRecords, type PairPosition } from './pairs';

export const EXAMPLE_CHANGES = [
  'regressed',
  'improved',
  'unchanged',
  'errored',
  'candidate_only',
  'baseline_only',
] as const;
export type ExampleChange = (typeof EXAMPLE_CHANGES)[number];

export interface ExampleSide {
  label?: string;
  scores?: Record<string, number>;
  ranking?: string[];
  output?: string;
  value?: number;
  /** Right or wrong by the suite's outcome metric (accuracy, exact_match); absent when it has none. */
  correct?: boolean;
  /** Generation: the judge's normalised score. */
  judgeScore?: number;
  error?: { class: string; message: string };
}

export interface ComparedExample {
  id: string;
  change: ExampleChange;
  tags: string[];
  /** What the model saw (the dataset row without its labels); absent when the row is no longer stored. */
  input?: Record<string, unknown>;
  truth: { label?: string; reference?: string; target?: number };
  candidate: ExampleSide | null;
  baseline: ExampleSide | null;
}

/** The metric whose per-example outcome defines right and wrong for this suite, if any. */
export function outcomeMetric(run: ComparableRun): string | undefined {
  return (
    run.suiteMetrics.find((m) => m.metric === 'accuracy')?.metric ??
    run.suiteMetrics.find((m) => m.metric === 'exact_match')?.metric ??
    (run.taskType === 'classification' ? 'accuracy' : undefined)
  );
}

interface Aligned {
  id: string;
  tags: string[];
  candidate?: ExampleRecord;
  baseline?: ExampleRecord;
  position: PairPosition;
}

/**
 * Every example of either run in shard order: per shard, the candidate's records in their
 * order, then the baseline's records the candidate does not have. Memory: one shard.
 */
async function* alignedExamples(
  storage: Storage,
  runs: { candidateRunId: string; baselineRunId: string; shards: number[] },
  from?: PairPosition,
): AsyncGenerator<Aligned> {
  for (const shard of runs.shards) {
    if (from && shard < from.shard) continue;
    // The candidate's first parts are fetched while the baseline's are read.
    const candidates = shardRecords(storage, runs.candidateRunId, shard);
    const first = candidates.next();
    first.catch(() => undefined);
    const baseline = new Map<string, ExampleRecord>();
    for await (const record of shardRecords(storage, runs.baselineRunId, shard))
      if (!baseline.has(record.id)) baseline.set(record.id, record);
    const seen = new Set<string>();
    let index = -1;
    const after = (i: number) => !from || shard !== from.shard || i > from.index;
    for (let step = await first; !step.done; step = await candidates.next()) {
      const candidate = step.value;
      if (seen.has(candidate.id)) continue; // a retried part written twice
      seen.add(candidate.id);
      index += 1;
      if (after(index))
        yield {
          id: candidate.id,
          tags: candidate.tags ?? [],
          candidate,
          baseline: baseline.get(candidate.id),
          position: { shard, index },
        };
    }
    for (const [id, record] of baseline) {
      if (seen.has(id)) continue;
      index += 1;
      if (after(index)) yield { id, tags: record.tags ?? [], baseline: record, position: { shard, index } };
    }
  }
}

function changeOf(metric: string | undefined, pair: Aligned): ExampleChange | undefined {
  if (!pair.baseline) return 'candidate_only';
  if (!pair.candidate) return 'baseline_only';
  if (pair.candidate.error || pair.baseline.error) return 'errored';
  if (!metric) return 'unchanged';
  const c = binaryOutcome(metric, pair.candidate, normalizeAnswer);
  const b = binaryOutcome(metric, pair.baseline, normalizeAnswer);
  if (c === undefined || b === undefined) return undefined;
  return b && !c ? 'regressed' : !b && c ? 'improved' : 'unchanged';
}

function side(metric: string | undefined, record: ExampleRecord | undefined): ExampleSide | null {
  if (!record) return null;
  const correct = metric && !record.error ? binaryOutcome(metric, record, normalizeAnswer) : undefined;
  return {
    ...(record.prediction ?? {}),
    ...(correct !== undefined ? { correct } : {}),
    ...(record.judgeScore !== undefined ? { judgeScore: record.judgeScore } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
}

/** The model inputs of the given example ids, read from the dataset shards they sit in. */
async function inputsOf(
  deps: { pool: Queryable; storage: Storage },
  datasetVersionId: string,
  taskType: TaskType,
  wanted: Map<number, Set<string>>,
): Promise<Map<string, Record<string, unknown>>> {
  const inputs = new Map<string, Record<string, unknown>>();
  if (wanted.size === 0) return inputs;
  const shards = await listDatasetShards(deps.pool, datasetVersionId);
  for (const shard of shards) {
    const ids = wanted.get(shard.shard_index);
    if (!ids) continue;
    const text = await deps.storage
      .getBuffer(shard.object_key)
      .then((b) => b.toString('utf8'))
      .catch(() => ''); // a swept or missing shard: the page shows no inputs
    const needles = [...ids].map((id) => [id, JSON.stringify(id)] as const);
    for (const line of text.split('\n')) {
      if (!line || !needles.some(([, needle]) => line.includes(needle))) continue;
      const row = JSON.parse(line) as Record<string, any>;
      if (!ids.has(String(row.id))) continue;
      const { id: _id, ...modelInput } = splitRow(taskType, row).modelInput;
      inputs.set(String(row.id), modelInput);
    }
  }
  return inputs;
}

/**
 * One page of the examples with the given change, in shard order, optionally within one
 * slice. The cursor is the position of the last example of the previous page.
 */
export async function listComparedExamples(
  deps: { pool: Queryable; storage: Storage },
  candidate: ComparableRun,
  baseline: ComparableRun,
  shards: number[],
  options: { change: ExampleChange; slice?: string; limit: number; cursor?: string },
): Promise<{ items: ComparedExample[]; nextCursor: string | null } | { invalidCursor: true }> {
  const metric = outcomeMetric(candidate);
  if (!metric && ['regressed', 'improved'].includes(options.change)) return { items: [], nextCursor: null };
  const from = options.cursor ? decodeCursor(options.cursor) : undefined;
  if (from === null) return { invalidCursor: true };
  const found: Aligned[] = [];
  let nextCursor: string | null = null;
  const runs = { candidateRunId: candidate.runId, baselineRunId: baseline.runId, shards };
  for await (const pair of alignedExamples(deps.storage, runs, from)) {
    if (options.slice && !pair.tags.includes(options.slice)) continue;
    if (changeOf(metric, pair) !== options.change) continue;
    if (found.length === options.limit) {
      nextCursor = encodeCursor(found[found.length - 1].position);
      break;
    }
    found.push(pair);
  }
  const wanted = new Map<number, Set<string>>();
  for (const pair of found)
    wanted.set(pair.position.shard, (wanted.get(pair.position.shard) ?? new Set()).add(pair.id));
  const inputs = await inputsOf(deps, candidate.datasetVersionId, candidate.taskType as TaskType, wanted);
  const items = found.map((pair): ComparedExample => {
    const truthOf = pair.candidate ?? pair.baseline!;
    const input = inputs.get(pair.id);
    return {
      id: pair.id,
      change: options.change,
      tags: pair.tags,
      ...(input ? { input } : {}),
      truth: {
        ...(truthOf.label !== undefined ? { label: truthOf.label } : {}),
        ...(truthOf.reference !== undefined ? { reference: truthOf.reference } : {}),
        ...(truthOf.target !== undefined ? { target: truthOf.target } : {}),
      },
      candidate: side(metric, pair.candidate),
      baseline: side(metric, pair.baseline),
    };
  });
  return { items, nextCursor };
}
