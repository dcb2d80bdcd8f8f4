/**
 * The run's judge aggregates, summed from its shards' progress rows when the run ends:
 * the error-rate check that fails an unreliable judge, and one `eval_run_judge_stats` row
 * (calls, cache hits, cost, tokens, error rate, noise, judge–human agreement).
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../../common/db';
import type { JudgeConfig } from './config';
import { listShardJudgeTotals, upsertRunJudgeStats } from './dal';
import {
  emptyJudgeStats,
  mergeJudgeStats,
  summariseJudgeStats,
  type JudgeStatsState,
  type JudgeSummary,
} from './stats';

export interface RunJudgeTotals {
  judged: number;
  errors: number;
  calls: number;
  cacheHits: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  stats: JudgeStatsState;
}

export async function loadRunJudgeTotals(q: Queryable, runId: string): Promise<RunJudgeTotals> {
  const rows = await listShardJudgeTotals(q, runId);
  const totals: RunJudgeTotals = {
    judged: 0,
    errors: 0,
    calls: 0,
    cacheHits: 0,
    costUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    stats: emptyJudgeStats(),
  };
  for (const r of rows) {
    totals.judged += r.judged;
    totals.errors += r.judge_errors;
    totals.calls += r.calls_judge;
    totals.cacheHits += r.judge_cache_hits;
    totals.costUsd += r.judge_cost_usd;
    totals.inputTokens += Number(r.judge_input_tokens);
    totals.outputTokens += Number(r.judge_output_tokens);
    mergeJudgeStats(totals.stats, r.judge_stats ?? {});
  }
  return totals;
}

/** Fails the run (`judge_unreliable`, not retryable) when its judge error rate is over the suite's limit. */
export function assertJudgeReliable(
  judge: Pick<JudgeConfig, 'errorRateLimit'>,
  totals: Pick<RunJudgeTotals, 'judged' | 'errors'>,
): void {
  if (totals.judged === 0 || totals.errors / totals.judged <= judge.errorRateLimit) return;
  throw ApplicationFailure.create({
    type: 'judge_unreliable',
    nonRetryable: true,
    message:
      `the judge failed on ${totals.errors} of ${totals.judged} judged examples (${((totals.errors / totals.judged) * 100).toFixed(2)}%, ` +
      (`limit ${(judge.errorRateLimit * 100).toFixed(2)}%): unparseable or failed judge output after one retry; see the ` +
        `run's judge transcripts`),
  });
}

export async function writeRunJudgeStats(
  q: Queryable,
  runId: string,
  judge: JudgeConfig,
  totals: RunJudgeTotals,
  partial: boolean,
): Promise<JudgeSummary> {
  const summary = summariseJudgeStats(totals.stats);
  await upsertRunJudgeStats(q, {
    runId,
    fingerprint: judge.fingerprint,
    repeats: judge.repeats,
    judged: totals.judged,
    errors: totals.errors,
    errorRate: summary.errorRate,
    errorRateLimit: judge.errorRateLimit,
    calls: totals.calls,
    cacheHits: totals.cacheHits,
    costUsd: totals.costUsd,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    noise: summary.noise,
    meanSpread: summary.meanSpread,
    humanN: summary.human.n,
    humanAccuracy: summary.human.accuracy,
    humanKappa: summary.human.kappa,
    partial,
  });
  return summary;
}
