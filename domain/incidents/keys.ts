/**
 * Object keys an incident writes, derived from the incident, run, shard and part so a
 * retried writer overwrites. What holds per-example data (re-judged records, the original
 * records they replace, judge transcripts) lives under the run's own prefix, so access
 * and retention follow the run's dataset; metric states live under the incident.
 */
import { runKeys } from '../runs/keys';

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const incidentShard = (incidentId: string, runId: string, shard: number) =>
  `${runKeys.runPrefix(runId)}incidents/${incidentId}/shards/${pad(shard, 6)}/`;

export const incidentKeys = {
  /** A shard's recomputed metric state (accumulator JSON) for one run of one incident. */
  shardState: (incidentId: string, runId: string, shard: number) =>
    `incidents/${incidentId}/runs/${runId}/shards/${pad(shard, 6)}/state.json`,
  /** A shard's re-judged metric state and judge totals (judge incidents). */
  judgedState: (incidentId: string, runId: string, shard: number) =>
    `incidents/${incidentId}/runs/${runId}/shards/${pad(shard, 6)}/judged.json`,
  /** Re-judged example records of one part, until they replace the run's part. */
  judgedPart: (incidentId: string, runId: string, shard: number, part: number) =>
    `${incidentShard(incidentId, runId, shard)}rejudged-part-${pad(part, 4)}.jsonl`,
  /** The run's part as it was before the incident replaced it: kept, never deleted. */
  originalPart: (incidentId: string, runId: string, shard: number, part: number) =>
    `${incidentShard(incidentId, runId, shard)}original-part-${pad(part, 4)}.jsonl`,
  /** Transcripts of the replacement judge for one part (listed with the run's own transcripts). */
  transcripts: (incidentId: string, runId: string, shard: number, part: number) =>
    `${incidentShard(incidentId, runId, shard)}judge-part-${pad(part, 4)}.jsonl`,
  incidentPrefix: (incidentId: string) => `incidents/${incidentId}/`,
};

/** A stored part of a run's per-example records: `…/part-0001.jsonl`. */
export const PART_KEY = /\/part-(\d{4,})\.jsonl$/;
