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

export interface BudgetInFlight {
  runId: string;
  metricSuiteId: string;
  /** The larger of the shares of calls and cost reserved so far. */
  usedRatio: number;
  /** What is left of each limit the suite sets (null when it sets none). */
  callsLeft: number | null;
  usdLeft: number | null;
}

/** Budgeted runs in flight: the share of their budget reserved so far and what is left of it. */
export async function budgetsInFlight(q: Queryable): Promise<BudgetInFlight[]> {
  const { rows } = await q.query<{
    run_id: string;
    metric_suite_id: string;
    used: number;
    calls_left: number | null;
    usd_left: number | null;
  }>(
    `SELECT b.run_id, sv.metric_suite_id,
            GREATEST(COALESCE(b.reserved_calls::float8 / b.max_calls, 0),
                     COALESCE(b.reserved_cost_usd::float8 / b.max_cost_usd, 0)) AS used,
            (b.max_calls - b.reserved_calls)::float8 AS calls_left,
            (b.max_cost_usd - b.reserved_cost_usd)::float8 AS usd_left
       FROM run_budgets b
       JOIN eval_runs r USING (run_id)
       JOIN metric_suite_versions sv USING (metric_suite_version_id)
      WHERE r.status IN ('queued', 'running')`,
  );
  return rows.map((r) => ({
    runId: r.run_id,
    metricSuiteId: r.metric_suite_id,
    usedRatio: r.used,
    callsLeft: r.calls_left,
    usdLeft: r.usd_left,
  }));
}

export interface RunStats {
  mode: string;
  /** Model and judge spend of one run, USD: over the runs that finished in the last hour, whatever their ending. */
  cost: { p50: number; p95: number; max: number; total: number };
  /** Time to compute a run's metrics (merge shard states, finalise), seconds: runs that succeeded in the last hour. */
  metrics: { p50: number; p95: number; max: number } | null;
}

/** Cost per run and metric computation time of the runs that finished in the last hour, by mode. */
export async function runStatsLastHour(q: Queryable): Promise<RunStats[]> {
  const { rows } = await q.query<{
    mode: string;
    cost_p50: number;
    cost_p95: number;
    cost_max: number;
    cost_total: number;
    metrics_p50: number | null;
    metrics_p95: number | null;
    metrics_max: number | null;
  }>(
    // Ordered-set aggregates skip NULLs: runs without a metrics time (failed, or finished before it was recorded).
    `SELECT mode,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY cost)::float8 AS cost_p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY cost)::float8 AS cost_p95,
            max(cost)::float8 AS cost_max,
            sum(cost)::float8 AS cost_total,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY metrics_s)::float8 AS metrics_p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY metrics_s)::float8 AS metrics_p95,
            max(metrics_s)::float8 AS metrics_max
       FROM (SELECT mode, cost_model_usd + cost_judge_usd AS cost, metrics_ms / 1000.0 AS metrics_s
               FROM eval_runs WHERE finished_at > now() - interval '1 hour') f
      GROUP BY mode`,
  );
  return rows.map((r) => ({
    mode: r.mode,
    cost: { p50: r.cost_p50, p95: r.cost_p95, max: r.cost_max, total: r.cost_total },
    metrics: r.metrics_max === null ? null : { p50: r.metrics_p50 ?? 0, p95: r.metrics_p95 ?? 0, max: r.metrics_max },
  }));
}
