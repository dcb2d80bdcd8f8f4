/**
 * The run's judge aggregates, summed from its shards' progress rows when the run ends:
 * the error-rate check that fails an unreliable judge, and one `eval_run_judge_stats` row
 * (calls, cache hits, cost, tokens, error rate, noise, judge–human agreement).
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../../common/db';
import type { JudgeConfig } from './config';
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
  const { rows } = await q.query<{
    judged: number;
    judge_errors: number;
    calls_judge: number;
    judge_cache_hits: number;
    judge_cost_usd: number;
    judge_input_tokens: string;
    judge_output_tokens: string;
    judge_stats: Partial<JudgeStatsState>;
  }>(
    `SELECT judged, judge_errors, calls_judge, judge_cache_hits, judge_cost_usd, judge_input_tokens, judge_output_tokens, judge_stats
       FROM eval_run_shards WHERE run_id = $1 ORDER BY shard_index`,
    [runId],
  );
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
      `limit ${(judge.errorRateLimit * 100).toFixed(2)}%): unparseable or failed judge output after one retry; see the run's judge transcripts`,
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
  await q.query(
    `INSERT INTO eval_run_judge_stats (run_id, judge_fingerprint, repeats, judged, judge_errors, error_rate, error_rate_limit, calls, cache_hits, cost_usd,
                                       input_tokens, output_tokens, noise, mean_spread, human_n, human_accuracy, human_kappa, partial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (run_id) DO UPDATE SET judged = EXCLUDED.judged, judge_errors = EXCLUDED.judge_errors, error_rate = EXCLUDED.error_rate,
       calls = EXCLUDED.calls, cache_hits = EXCLUDED.cache_hits, cost_usd = EXCLUDED.cost_usd, input_tokens = EXCLUDED.input_tokens,
       output_tokens = EXCLUDED.output_tokens, noise = EXCLUDED.noise, mean_spread = EXCLUDED.mean_spread, human_n = EXCLUDED.human_n,
       human_accuracy = EXCLUDED.human_accuracy, human_kappa = EXCLUDED.human_kappa, partial = EXCLUDED.partial, computed_at = now()`,
    [
      runId,
      judge.fingerprint,
      judge.repeats,
      totals.judged,
      totals.errors,
      summary.errorRate,
      judge.errorRateLimit,
      totals.calls,
      totals.cacheHits,
      totals.costUsd,
      totals.inputTokens,
      totals.outputTokens,
      summary.noise,
      summary.meanSpread,
      summary.human.n,
      summary.human.accuracy,
      summary.human.kappa,
      partial,
    ],
  );
  return summary;
}
