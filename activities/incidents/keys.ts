/** Object keys an incident writes, derived from the incident, run and shard so a retried writer overwrites. */
const pad = (shard: number) => String(shard).padStart(6, '0');

export const incidentKeys = {
  /** A shard's recomputed metric state (accumulator JSON) for one run of one incident. */
  shardState: (incidentId: string, runId: string, shard: number) => `incidents/${incidentId}/runs/${runId}/shards/${pad(shard)}/state.json`,
  /** Re-judged example records of one part of a shard (judge incidents). */
  judgedPart: (incidentId: string, runId: string, shard: number, part: number) =>
    `incidents/${incidentId}/runs/${runId}/shards/${pad(shard)}/judged-${String(part).padStart(4, '0')}.jsonl`,
  incidentPrefix: (incidentId: string) => `incidents/${incidentId}/`,
};

/** A stored part of a run's per-example records: `…/part-0001.jsonl`. */
export const PART_KEY = /\/part-(\d{4,})\.jsonl$/;
