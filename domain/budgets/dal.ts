/**
 * Data access of run budgets: one `run_budgets` row per budgeted run, reserved from by
 * single atomic statements (the row lock serialises shards on every worker).
 */
import type { Queryable } from '../../common/db';

export interface RunBudgetLimits {
  maxCalls: number | null;
  maxCostUsd: number | null;
}

/** Creates the run's budget row from its suite version (idempotent); false when the suite sets no budget. */
export async function ensureRunBudget(q: Queryable, runId: string): Promise<boolean> {
  const { rows } = await q.query<{ budgeted: boolean }>(
    `WITH limits AS (
       SELECT r.run_id, sv.budget_max_calls, sv.budget_max_cost_usd FROM eval_runs r
         JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id WHERE r.run_id = $1),
     ins AS (
       INSERT INTO run_budgets (run_id, max_calls, max_cost_usd)
       SELECT run_id, budget_max_calls, budget_max_cost_usd FROM limits
        WHERE budget_max_calls IS NOT NULL OR budget_max_cost_usd IS NOT NULL
       ON CONFLICT (run_id) DO NOTHING)
     SELECT (budget_max_calls IS NOT NULL OR budget_max_cost_usd IS NOT NULL) AS budgeted FROM limits`,
    [runId],
  );
  return rows[0]?.budgeted ?? false;
}

export async function runIsBudgeted(q: Queryable, runId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM run_budgets WHERE run_id = $1', [runId]);
  return rows.length > 0;
}

/**
 * Grants min(wanted, calls left, whole calls the cost left covers after the deficit), in
 * one round trip: reserve_run_budget (schema 022) locks the row and computes the grant
 * from its current values. exhausted_at is the first refusal (a grant of nothing).
 */

export async function reserveRunBudget(
  q: Queryable,
  runId: string,
  calls: number,
  costPerCallUsd: string,
  deficitUsd: string,
): Promise<number> {
  const { rows } = await q.query<{ calls: string }>(
    'SELECT reserve_run_budget($1, $2, $3::numeric, $4::numeric) AS calls',
    [runId, calls, costPerCallUsd, deficitUsd],
  );
  return rows[0] ? Number(rows[0].calls) : 0;
}

/** Returns unused calls and cost to the run's budget (amounts as numeric text). */
export async function giveBackRunBudget(q: Queryable, runId: string, calls: number, costUsd: string): Promise<void> {
  await q.query(
    `UPDATE run_budgets SET reserved_calls = reserved_calls - $2, reserved_cost_usd = reserved_cost_usd - $3::numeric, updated_at = now()
      WHERE run_id = $1`,
    [runId, calls, costUsd],
  );
}
