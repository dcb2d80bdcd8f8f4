/** Object keys of a run's outputs, derived from the run id and shard index so a retried writer overwrites. */
export const runKeys = {
  part: (runId: string, shard: number, part: number) =>
    `runs/${runId}/shards/${String(shard).padStart(6, '0')}/part-${String(part).padStart(4, '0')}.jsonl`,
  shardState: (runId: string, shard: number) => `runs/${runId}/shards/${String(shard).padStart(6, '0')}/state.json`,
  shardPrefix: (runId: string, shard: number) => `runs/${runId}/shards/${String(shard).padStart(6, '0')}/`,
  runPrefix: (runId: string) => `runs/${runId}/`,
};

/**
 * The input hashes of a dataset shard's rows for a task type (32 bytes per row, in row
 * order), stored beside the shard under the dataset's prefix: rows never change, so a
 * rerun on the shard looks predictions up without serialising and hashing every row again.
 */
export const inputHashesKey = (shardObjectKey: string, taskType: string) =>
  `${shardObjectKey}.input-hashes-v1-${taskType}`;
export const INPUT_HASH_BYTES = 32;

/**
 * The shard's example truths for a task type: a JSON array, in row order, of what each
 * example's record takes from its row (id, tags, and the truth `splitRow` keeps from the
 * model: label, target, relevance, reference...). Stored with the input hashes, so a rerun
 * answered from the prediction cache never parses the rows' inputs. The version changes
 * whenever splitRow does.
 */
export const exampleTruthsKey = (shardObjectKey: string, taskType: string) => `${shardObjectKey}.truths-v1-${taskType}`;
