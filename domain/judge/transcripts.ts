/**
 * Judge transcripts in object storage, beside the run's parts (so they share the run's
 * access policy and retention): one JSONL object per part, one line per judge call or
 * cache hit, under keys derived from run, shard and part so a retried writer overwrites.
 */
import type { Storage } from '../../common/storage';
import { runKeys } from '../runs/keys';
import type { JudgeTranscript } from './types';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const judgeKeys = {
  transcripts: (runId: string, shard: number, part: number) =>
    `${runKeys.shardPrefix(runId, shard)}judge-part-${pad(part, 4)}.jsonl`,
  canaryTranscripts: (runId: string, part: number) =>
    `${runKeys.runPrefix(runId)}canary/judge-part-${pad(part, 4)}.jsonl`,
  canaryPrefix: (runId: string) => `${runKeys.runPrefix(runId)}canary/`,
};

/** True for keys of judge transcripts (of shards or of the canary) under a run. */
export const isTranscriptKey = (key: string) => /\/judge-part-\d{4}\.jsonl$/.test(key);

export async function writeTranscripts(storage: Storage, key: string, transcripts: JudgeTranscript[]): Promise<void> {
  if (!transcripts.length) return;
  await storage.put(key, transcripts.map((t) => JSON.stringify(t)).join('\n') + '\n', 'application/x-ndjson');
}
