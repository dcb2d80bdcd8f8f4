/** Object keys of a run's outputs, derived from the run id and shard index so a retried writer overwrites. */
export const runKeys = {
  part: (runId: string, shard: number, part: number) => `runs/${runId}/shards/${String(shard).padStart(6, '0')}/part-${String(part).padStart(4, '0')}.jsonl`,
  shardState: (runId: string, shard: number) => `runs/${runId}/shards/${String(shard).padStart(6, '0')}/state.json`,
  shardPrefix: (runId: string, shard: number) => `runs/${runId}/shards/${String(shard).padStart(6, '0')}/`,
  runPrefix: (runId: string) => `runs/${runId}/`,
};
