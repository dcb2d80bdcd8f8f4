import type { Queryable } from '../../common/db';

export interface RunJudgeStatsRecord {
  judge_fingerprint: string;
  repeats: number;
  judged: string;
  judge_errors: string;
  error_rate: number | null;
  error_rate_limit: number;
  calls: string;
  cache_hits: string;
  cost_usd: number;
  input_tokens: string;
  output_tokens: string;
  noise: number | null;
  mean_spread: number | null;
  human_n: string;
  human_accuracy: number | null;
  human_kappa: number | null;
  partial: boolean;
}

export interface CanaryResultRecord {
  canary_dataset_version_id: string;
  n: number;
  judge_errors: number;
  calls: number;
  cost_usd: number;
  accuracy: number | null;
  kappa: number | null;
  baseline_accuracy: number | null;
  baseline_run_id: string | null;
  agreement_floor: number | null;
  max_agreement_drop: number;
  drift: boolean;
  reasons: string[];
}

export async function findRunJudgeStats(q: Queryable, runId: string) {
  const { rows } = await q.query<RunJudgeStatsRecord>('SELECT * FROM eval_run_judge_stats WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function findCanaryResult(q: Queryable, runId: string) {
  const { rows } = await q.query<CanaryResultRecord>('SELECT * FROM judge_canary_results WHERE run_id = $1', [runId]);
  return rows[0];
}

/** Live judge totals from the shards' checkpoints while the run is going. */
export async function liveJudgeTotals(q: Queryable, runId: string) {
  const { rows } = await q.query<{ calls: string; hits: string; judged: string; errors: string; cost: number }>(
    `SELECT COALESCE(SUM(calls_judge), 0) AS calls, COALESCE(SUM(judge_cache_hits), 0) AS hits, COALESCE(SUM(judged), 0) AS judged,
            COALESCE(SUM(judge_errors), 0) AS errors, COALESCE(SUM(judge_cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1`,
    [runId],
  );
  return rows[0];
}

export async function findBudget(q: Queryable, runId: string) {
  const { rows } = await q.query<{
    max_calls: string | null;
    max_cost_usd: string | null;
    reserved_calls: string;
    reserved_cost_usd: string;
    exhausted_at: Date | null;
  }>(
    'SELECT max_calls, max_cost_usd, reserved_calls, reserved_cost_usd, exhausted_at FROM run_budgets WHERE run_id = $1',
    [runId],
  );
  return rows[0];
}
