/**
 * The judge's hooks in a run's shard activity: a judge runner with the batched cache
 * loader, per-part flushing of transcripts and new cache entries, and the judge totals
 * a shard reports (rebuilt from stored records on resume, like the model totals).
 */
import type { Pool } from 'pg';
import type { RunMode } from '../../common/names';
import type { Storage } from '../../common/storage';
import type { BudgetLease } from '../../domain/budgets/lease';
import type { ExampleRecord } from '../../domain/runs/records';
import { createBatchLoader } from '../../domain/judge/cache';
import { lookupJudgements, storeJudgements, type NewJudgement } from '../../domain/judge/dal';
import { loadRunJudge, type JudgeConfig } from '../../domain/judge/config';
import { normaliseScore } from '../../domain/judge/parse';
import { createJudgeRunner, type JudgeChat, type JudgeOne } from './runner';
import { type JudgeTranscript } from '../../domain/judge/types';
import { addJudgedExample, emptyJudgeStats, type JudgeStatsState } from '../../domain/judge/stats';
import { judgeKeys, writeTranscripts } from '../../domain/judge/transcripts';

export interface JudgeTotals {
  judged: number;
  judgeErrors: number;
  judgeCalls: number;
  judgeCacheHits: number;
  judgeCostUsd: number;
  judgeInputTokens: number;
  judgeOutputTokens: number;
  judgeStats: JudgeStatsState;
}

export const emptyJudgeTotals = (): JudgeTotals => ({
  judged: 0,
  judgeErrors: 0,
  judgeCalls: 0,
  judgeCacheHits: 0,
  judgeCostUsd: 0,
  judgeInputTokens: 0,
  judgeOutputTokens: 0,
  judgeStats: emptyJudgeStats(),
});

/** Adds one stored record's judge outcome (if any) to the totals. A budget-skipped example counts its calls but is not judged. */
export function addJudgeRecord(totals: JudgeTotals, record: ExampleRecord, scale: { min: number; max: number }): void {
  const judge = record.judge;
  if (!judge) return;
  totals.judgeCalls += judge.calls;
  totals.judgeCacheHits += judge.cachedRepeats;
  totals.judgeCostUsd += judge.costUsd;
  totals.judgeInputTokens += judge.usage?.inputTokens ?? 0;
  totals.judgeOutputTokens += judge.usage?.outputTokens ?? 0;
  if (judge.skipped) return;
  totals.judged += 1;
  if (judge.error) totals.judgeErrors += 1;
  const normalised = judge.scores.map((s) => normaliseScore(s, scale));
  addJudgedExample(totals.judgeStats, {
    error: Boolean(judge.error),
    normalisedScores: normalised,
    ...(judge.scores.length ? { rawMean: judge.scores.reduce((a, b) => a + b, 0) / judge.scores.length } : {}),
    ...(record.humanScore !== undefined ? { humanScore: record.humanScore } : {}),
  });
}

export interface ShardJudging {
  config: JudgeConfig;
  judgeOne: JudgeOne;
  /** Writes a part's transcripts (beside the part) and stores its new judgements in the judge cache. */
  persistPart(
    runId: string,
    shard: number,
    part: number,
    retention: { expiresAt: Date; datasetVersionId: string },
    transcripts: JudgeTranscript[],
    entries: NewJudgement[],
  ): Promise<void>;
}

/** The shard's judging, or null when the run's suite has no judge or the task is not generation. */
export async function prepareShardJudging(
  deps: { pool: Pool; storage: Storage; models: JudgeChat },
  runId: string,
  taskType: string,
  lease: BudgetLease | null,
  mode?: RunMode,
): Promise<ShardJudging | null> {
  if (taskType !== 'generation') return null;
  const config = await loadRunJudge(deps.pool, runId);
  if (!config) return null;
  const lookup = createBatchLoader((keys) => lookupJudgements(deps.pool, keys));
  return {
    config,
    judgeOne: createJudgeRunner({ judge: config, chat: deps.models, lookup, lease, mode }),
    async persistPart(runIdOfPart, shard, part, retention, transcripts, entries) {
      // Calls finish in any order; transcripts are stored in example, repeat, attempt order.
      transcripts.sort((a, b) =>
        a.exampleId < b.exampleId ? -1 : a.exampleId > b.exampleId ? 1 : a.repeat - b.repeat || a.attempt - b.attempt,
      );
      await writeTranscripts(deps.storage, judgeKeys.transcripts(runIdOfPart, shard, part), transcripts);
      await storeJudgements(deps.pool, config.modelVersionId, retention.expiresAt, entries, retention.datasetVersionId);
    },
  };
}
