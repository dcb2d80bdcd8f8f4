/**
 * What operators watch, read from the records at scrape time (so every API replica reports the
 * same truth): runs finished in the last hour by outcome, queue time, release checks waiting,
 * budgets close to spent. Small aggregate queries over indexed columns; no per-run series
 * except for the few budgeted runs in flight.
 */
import type { Queryable } from '../../common/db';

export interface FinishedRuns {
  mode: string;
  status: string;
  errorClass: string;
  n: number;
}

/** Runs that finished in the last hour, by mode, status and error class ('' when none). */
export async function runsFinishedLastHour(q: Queryable): Promise<FinishedRuns[]> {
  const { rows } = await q.query<{ mode: string; status: string; error_class: string; n: number }>(
    `SELECT mode, status, COALESCE(error_class, '') AS error_class, count(*)::int AS n
       FROM eval_runs WHERE finished_at > now() - interval '1 hour'
      GROUP BY 1, 2, 3`,
  );
  return rows.map((r) => ({ mode: r.mode, status: r.status, errorClass: r.error_class, n: r.n }));
}

/** Runs queued or running now, by mode and status. */
export async function runsInFlight(q: Queryable): Promise<{ mode: string; status: string; n: number }[]> {
  const { rows } = await q.query<{ mode: string; status: string; n: number }>(
    `SELECT mode, status, count(*)::int AS n FROM eval_runs WHERE status IN ('queued', 'running') GROUP BY 1, 2`,
  );
  return rows;
}

/**
 * Queue time (created → started) of the runs that started in the last hour, by mode: the median,
 * the 95th percentile and the longest, in seconds. Runs still queued count with their age so far.
 */
export async function queueSecondsLastHour(
  q: Queryable,
): Promise<{ mode: string; p50: number; p95: number; max: number }[]> {
  const { rows } = await q.query<{ mode: string; p50: number; p95: number; max: number }>(
    `SELECT mode,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY wait)::float8 AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY wait)::float8 AS p95,
            max(wait)::float8 AS max
       FROM (SELECT mode, EXTRACT(EPOCH FROM COALESCE(started_at, now()) - created_at) AS wait
               FROM eval_runs
              WHERE started_at > now() - interval '1 hour' OR (status = 'queued' AND started_at IS NULL)) w
      GROUP BY mode`,
  );
  return rows;
}

/** How long the oldest undecided gate check has waited, in seconds (0 when none waits). */
export async function oldestPendingCheckSeconds(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ age: number | null }>(
    `SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM gate_checks WHERE status = 'pending'`,
  );
  return rows[0]?.age ?? 0;
}

/** Budgeted runs in flight and the share of their budget reserved so far (the larger of calls and cost). */
export async function budgetsInFlight(
  q: Queryable,
): Promise<{ runId: string; metricSuiteId: string; usedRatio: number }[]> {
  const { rows } = await q.query<{ run_id: string; metric_suite_id: string; used: number }>(
    `SELECT b.run_id, sv.metric_suite_id,
            GREATEST(COALESCE(b.reserved_calls::float8 / b.max_calls, 0),
                     COALESCE(b.reserved_cost_usd::float8 / b.max_cost_usd, 0)) AS used
       FROM run_budgets b
       JOIN eval_runs r USING (run_id)
       JOIN metric_suite_versions sv USING (metric_suite_version_id)
      WHERE r.status IN ('queued', 'running')`,
  );
  return rows.map((r) => ({ runId: r.run_id, metricSuiteId: r.metric_suite_id, usedRatio: r.used }));
}
