/**
 * Re-judging stored candidate outputs with a given judge — what a judge incident does
 * with a replacement judge. No model is called: the outputs are the run's stored
 * ExampleRecords. Judge calls go through the same runner as a run's (shared endpoint
 * limits, one retry on unparseable output, judge cache, transcripts), under a budget
 * lease when the caller passes one.
 *
 * From an activity:
 *   const judge = await resolveJudgeConfig(pool, replacementJudgeRecord, fingerprint);
 *   const items = await loadShardItems({ pool, storage }, runId, shardIndex);
 *   const { records, totals } = await judgeStoredRecords(deps, { judge, items, transcriptKey, expiresAt });
 */
import type { Pool } from 'pg';
import type { Storage } from '../../common/storage';
import type { BudgetLease } from '../../domain/budgets/lease';
import { runKeys } from '../../domain/runs/keys';
import type { ExampleRecord } from '../../domain/runs/records';
import { createBatchLoader } from '../../domain/judge/cache';
import { findRunShardObjectKey, lookupJudgements, storeJudgements, type NewJudgement } from '../../domain/judge/dal';
import { judgeConfigFrom, loadJudgeModelVersion, type JudgeConfig } from '../../domain/judge/config';
import type { StoredJudge } from '../../domain/judge/types';
import { createJudgeRunner, type JudgeChat } from './runner';
import { type JudgeTranscript } from '../../domain/judge/types';
import { addJudgeRecord, emptyJudgeTotals, type JudgeTotals } from './shardJudging';
import { writeTranscripts } from '../../domain/judge/transcripts';

export interface StoredItem {
  record: ExampleRecord;
  row: Record<string, unknown>;
}

export interface JudgeStoredInput {
  judge: JudgeConfig;
  items: StoredItem[];
  /**
   * Object key for this batch's transcripts (one JSONL object); keep it under the run's prefix so access and retention
   * follow the dataset.
   */
  transcriptKey: string;
  /** Expiry of new judge-cache entries: the run's retention (expiryAfter(ctx.retentionSeconds)). */
  expiresAt: Date;
  /** The dataset version of the records, named on new judge-cache entries (legal holds). */
  datasetVersionId?: string;
  lease?: BudgetLease | null;
  /** Read the judge cache (default true). */
  useCache?: boolean;
  signal?: AbortSignal;
}

export interface JudgeStoredResult {
  /** The input records with `judge` and `judgeScore` replaced; records without an output are returned unchanged. */
  records: ExampleRecord[];
  totals: JudgeTotals;
  /** The budget ran out: records from the first skipped one on carry `judge.skipped`. */
  budgetStopped: boolean;
}

/** A suite version's (or incident's) stored judge record resolved to the config the runner needs. */
export async function resolveJudgeConfig(pool: Pool, stored: StoredJudge, fingerprint: string): Promise<JudgeConfig> {
  return judgeConfigFrom(stored, await loadJudgeModelVersion(pool, stored.modelVersionId), fingerprint);
}

export async function judgeStoredRecords(
  deps: { pool: Pool; storage: Storage; models: JudgeChat },
  input: JudgeStoredInput,
): Promise<JudgeStoredResult> {
  const lookup = input.useCache === false ? undefined : createBatchLoader((keys) => lookupJudgements(deps.pool, keys));
  const judgeOne = createJudgeRunner({ judge: input.judge, chat: deps.models, lookup, lease: input.lease ?? null });
  const transcripts: JudgeTranscript[] = [];
  const entries: NewJudgement[] = [];
  const totals = emptyJudgeTotals();
  let budgetStopped = false;
  const records = await Promise.all(
    input.items.map(async ({ record, row }): Promise<ExampleRecord> => {
      const output = record.prediction?.output;
      if (output === undefined || record.error) return record;
      const { judge: _old, judgeScore: _oldScore, ...rest } = record;
      const result = await judgeOne({ id: record.id, row, output, signal: input.signal });
      for (const t of result.transcripts) transcripts.push(t);
      for (const e of result.newEntries) entries.push(e);
      if (result.outcome.skipped) budgetStopped = true;
      return {
        ...rest,
        judge: result.outcome,
        ...(result.judgeScore !== undefined ? { judgeScore: result.judgeScore } : {}),
      };
    }),
  );
  for (const record of records) addJudgeRecord(totals, record, input.judge.output);
  await writeTranscripts(deps.storage, input.transcriptKey, transcripts);
  await storeJudgements(deps.pool, input.judge.modelVersionId, input.expiresAt, entries, input.datasetVersionId);
  return { records, totals, budgetStopped };
}

/** A run shard's stored records paired with their dataset rows (by id), part by part in order. */
export async function loadShardItems(
  deps: { pool: Pool; storage: Storage },
  runId: string,
  shardIndex: number,
): Promise<StoredItem[]> {
  const objectKey = await findRunShardObjectKey(deps.pool, runId, shardIndex);
  if (!objectKey) throw new Error(`run ${runId} has no dataset shard ${shardIndex}`);
  const datasetRows = new Map<string, Record<string, unknown>>();
  for (const line of (await deps.storage.getBuffer(objectKey)).toString('utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    datasetRows.set(String(row.id), row);
  }
  const items: StoredItem[] = [];
  const partKeys = (await deps.storage.list(runKeys.shardPrefix(runId, shardIndex)))
    .filter((k) => /\/part-\d{4}\.jsonl$/.test(k))
    .sort();
  for (const key of partKeys) {
    for (const line of (await deps.storage.getBuffer(key)).toString('utf8').split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as ExampleRecord;
      items.push({ record, row: datasetRows.get(record.id) ?? { id: record.id } });
    }
  }
  return items;
}
