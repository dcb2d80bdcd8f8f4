/** incident_budgets: the budget of re-judging one run for a judge incident (see ../judgeBudget.ts). */
import type { Queryable } from '../../../common/db';

/** Creates the row from the run's suite (idempotent); false when the suite sets no budget. */
export async function ensureIncidentBudget(q: Queryable, incidentId: string, runId: string): Promise<boolean> {
  const { rows } = await q.query<{ budgeted: boolean }>(
    `WITH limits AS (
       SELECT r.run_id, sv.budget_max_calls, sv.budget_max_cost_usd FROM eval_runs r
         JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id WHERE r.run_id = $2),
     ins AS (
       INSERT INTO incident_budgets (incident_id, run_id, max_calls, max_cost_usd)
       SELECT $1, run_id, budget_max_calls, budget_max_cost_usd FROM limits
        WHERE budget_max_calls IS NOT NULL OR budget_max_cost_usd IS NOT NULL
       ON CONFLICT (incident_id, run_id) DO NOTHING)
     SELECT (budget_max_calls IS NOT NULL OR budget_max_cost_usd IS NOT NULL) AS budgeted FROM limits`,
    [incidentId, runId],
  );
  return rows[0]?.budgeted ?? false;
}

export async function hasIncidentBudget(q: Queryable, incidentId: string, runId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM incident_budgets WHERE incident_id = $1 AND run_id = $2', [
    incidentId,
    runId,
  ]);
  return rows.length > 0;
}

/** Same grant rule as run_budgets: min(wanted, calls left, whole calls the cost left covers after the deficit). */
const RESERVE_SQL = `
  WITH cur AS (SELECT * FROM incident_budgets WHERE incident_id = $1 AND run_id = $2 FOR UPDATE),
  g AS (
    SELECT GREATEST(0, LEAST($3::bigint,
      CASE WHEN cur.max_calls IS NULL THEN $3::bigint ELSE cur.max_calls - cur.reserved_calls END,
      CASE WHEN cur.max_cost_usd IS NULL OR $4::numeric = 0 THEN $3::bigint
           ELSE FLOOR((cur.max_cost_usd - cur.reserved_cost_usd - $5::numeric) / $4::numeric)::bigint END)) AS calls
    FROM cur)
  UPDATE incident_budgets b
     SET reserved_calls = b.reserved_calls + g.calls,
         reserved_cost_usd = b.reserved_cost_usd + CASE WHEN g.calls > 0 THEN g.calls * $4::numeric + $5::numeric ELSE 0 END,
         exhausted_at = CASE WHEN g.calls < $3::bigint THEN COALESCE(b.exhausted_at, now()) ELSE b.exhausted_at END,
         updated_at = now()
    FROM g WHERE b.incident_id = $1 AND b.run_id = $2
  RETURNING g.calls`;

/** Reserves up to `calls` calls (amounts as numeric strings); 0 when the run has no budget row. */
export async function reserveIncidentBudget(
  q: Queryable,
  incidentId: string,
  runId: string,
  calls: number,
  costPerCallUsd: string,
  deficitUsd: string,
): Promise<number> {
  const { rows } = await q.query<{ calls: string }>(RESERVE_SQL, [
    incidentId,
    runId,
    calls,
    costPerCallUsd,
    deficitUsd,
  ]);
  return rows[0] ? Number(rows[0].calls) : 0;
}

export async function giveBackIncidentBudget(
  q: Queryable,
  incidentId: string,
  runId: string,
  calls: number,
  costUsd: string,
): Promise<void> {
  await q.query(
    `UPDATE incident_budgets
        SET reserved_calls = reserved_calls - $3, reserved_cost_usd = reserved_cost_usd - $4::numeric, updated_at = now()
      WHERE incident_id = $1 AND run_id = $2`,
    [incidentId, runId, calls, costUsd],
  );
}
