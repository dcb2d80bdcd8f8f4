import type { Pool, PoolClient } from 'pg';

export interface ResultChange {
  metricName: string;
  metric: string;
  oldResultId: string;
  newResultId: string;
  oldImplVersion: string;
  newImplVersion: string;
  oldValue: number | null;
  newValue: number | null;
  oldCi: [number | null, number | null];
  newCi: [number | null, number | null];
  n: number;
}

/** The metric code's own version: a re-judged result's version carries its judge as SemVer build metadata (`1.0.0+judge.…`). */
export const baseImplVersion = (version: string): string => version.split('+')[0];

/** Every result of the run this incident wrote, with the row it replaced. */
export async function changesOf(q: PoolClient | Pool, incidentId: string, runId: string): Promise<ResultChange[]> {
  const { rows } = await q.query<Record<string, any>>(
    `SELECT o.metric_name, o.metric_id, o.result_id AS old_id, n.result_id AS new_id, o.impl_version AS old_impl, n.impl_version AS new_impl,
            o.value AS old_value, n.value AS new_value, o.ci_low AS old_lo, o.ci_high AS old_hi, n.ci_low AS new_lo, n.ci_high AS new_hi, n.n
       FROM metric_results n JOIN metric_results o ON o.superseded_by = n.result_id
      WHERE n.run_id = $1 AND n.incident_id = $2 ORDER BY o.metric_name`,
    [runId, incidentId],
  );
  return rows.map((r) => ({
    metricName: r.metric_name,
    metric: r.metric_id,
    oldResultId: String(r.old_id),
    newResultId: String(r.new_id),
    oldImplVersion: r.old_impl,
    newImplVersion: r.new_impl,
    oldValue: r.old_value,
    newValue: r.new_value,
    oldCi: [r.old_lo, r.old_hi],
    newCi: [r.new_lo, r.new_hi],
    n: Number(r.n),
  }));
}
