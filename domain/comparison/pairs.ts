/**
 * The examples two runs share, paired, streamed from their stored per-example records.
 *
 * Both runs evaluated the same dataset version, so shard i of one holds the same rows as
 * shard i of the other. Memory is bounded by one shard: the baseline's records of a shard
 * are indexed by id, then the candidate's records of that shard stream past the index.
 * An example counts only when both runs have it without an error (a model or judge
 * failure on either side would otherwise bias the comparison).
 */
import type { Storage } from '../../common/storage';
import { runKeys } from '../runs/keys';
import type { ExampleRecord } from '../runs/records';

export interface ExamplePair {
  id: string;
  tags: string[];
  candidate: ExampleRecord;
  baseline: ExampleRecord;
  /** Where the pair sits: a cursor that resumes right after it. */
  position: PairPosition;
}

/** Shard index and the pair's index among the candidate's records of that shard. */
export interface PairPosition {
  shard: number;
  index: number;
}

export interface PairTally {
  paired: number;
  candidateOnly: number;
  baselineOnly: number;
  errored: number;
}

/** Parts of a shard fetched ahead of the one being read: object-store round trips overlap, memory stays a few parts. */
const PARTS_AHEAD = 8;

/** The records of one shard of a run, in part order; a part that is missing ends the shard. */
export async function* shardRecords(storage: Storage, runId: string, shard: number): AsyncGenerator<ExampleRecord> {
  const parts = (await storage.list(runKeys.shardPrefix(runId, shard)))
    .filter((k) => /\/part-\d+\.jsonl$/.test(k))
    .sort();
  const ahead: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (ahead.length < PARTS_AHEAD && next < parts.length) {
      const fetched = storage.getBuffer(parts[next++]);
      fetched.catch(() => undefined); // awaited below; a reader that stops early must not leave it unhandled
      ahead.push(fetched);
    }
  };
  fill();
  while (ahead.length) {
    const text = (await ahead.shift()!).toString('utf8');
    fill();
    for (const line of text.split('\n')) if (line) yield JSON.parse(line) as ExampleRecord;
  }
}

const usable = (r: ExampleRecord | undefined): r is ExampleRecord => r !== undefined && !r.error;

/**
 * Yields every shared, error-free example pair in shard order, starting after `from`.
 * `tally`, when given, counts what was skipped (only meaningful for a full pass).
 */
export async function* pairedExamples(
  deps: { storage: Storage },
  runs: { candidateRunId: string; baselineRunId: string; shards: number[] },
  from?: PairPosition,
  tally?: PairTally,
): AsyncGenerator<ExamplePair> {
  for (const shard of runs.shards) {
    if (from && shard < from.shard) continue;
    const baseline = new Map<string, ExampleRecord>();
    for await (const record of shardRecords(deps.storage, runs.baselineRunId, shard)) baseline.set(record.id, record);
    let index = -1;
    const seen = new Set<string>();
    for await (const candidate of shardRecords(deps.storage, runs.candidateRunId, shard)) {
      index += 1;
      if (seen.has(candidate.id)) continue; // a retried part written twice
      seen.add(candidate.id);
      const base = baseline.get(candidate.id);
      if (tally) {
        if (!base) tally.candidateOnly += 1;
        else if (!usable(candidate) || !usable(base)) tally.errored += 1;
      }
      if (!usable(candidate) || !usable(base)) continue;
      if (from && shard === from.shard && index <= from.index) continue;
      if (tally) tally.paired += 1;
      yield { id: candidate.id, tags: candidate.tags ?? [], candidate, baseline: base, position: { shard, index } };
    }
    if (tally) for (const id of baseline.keys()) if (!seen.has(id)) tally.baselineOnly += 1;
  }
}

/** Right or wrong, for outcomes that are binary per example (accuracy; exact match); undefined otherwise. */
export function binaryOutcome(
  metricId: string,
  record: ExampleRecord,
  normalize: (s: string) => string,
): boolean | undefined {
  if (metricId === 'accuracy') {
    if (record.correct !== undefined) return record.correct;
    return record.label !== undefined && record.prediction?.label !== undefined
      ? record.prediction.label === record.label
      : undefined;
  }
  if (metricId === 'exact_match') {
    if (record.reference === undefined || record.prediction?.output === undefined) return undefined;
    return normalize(record.prediction.output) === normalize(record.reference);
  }
  return undefined;
}

export const encodeCursor = (p: PairPosition): string => Buffer.from(`${p.shard}:${p.index}`).toString('base64url');

export function decodeCursor(cursor: string): PairPosition | null {
  const m = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { shard: Number(m[1]), index: Number(m[2]) } : null;
}
