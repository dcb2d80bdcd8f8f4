/** The metric results an incident reads, supersedes, invalidates and writes. */
import type { Queryable } from '../../../common/db';

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

/** Names of the run's current results of a metric at one of the given implementation versions. */
export async function currentResultsAtVersions(
  q: Queryable,
  runId: string,
  metric: string | null,
  versions: string[] | null,
): Promise<string[]> {
  const { rows } = await q.query<{ metric_name: string }>(
    `SELECT metric_name FROM metric_results
      WHERE run_id = $1 AND metric_id = $2 AND impl_version = ANY($3::text[]) AND superseded_at IS NULL`,
    [runId, metric, versions],
  );
  return rows.map((r) => r.metric_name);
}

/** How many results of the run the incident wrote. */
export async function countIncidentResults(q: Queryable, runId: string, incidentId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM metric_results WHERE run_id = $1 AND incident_id = $2`,
    [runId, incidentId],
  );
  return rows[0].n;
}

/** The run's current results of a metric that another incident (or none) wrote. */
export async function currentResultsNotBy(
  q: Queryable,
  runId: string,
  metric: string,
  incidentId: string,
): Promise<{ metric_name: string; impl_version: string }[]> {
  const { rows } = await q.query<{ metric_name: string; impl_version: string }>(
    `SELECT metric_name, impl_version FROM metric_results
      WHERE run_id = $1 AND metric_id = $2 AND superseded_at IS NULL AND incident_id IS DISTINCT FROM $3`,
    [runId, metric, incidentId],
  );
  return rows;
}

/** Marks the runs' current results of a metric invalid by the incident (those not yet invalidated). */
export async function invalidateCurrentResults(
  q: Queryable,
  incidentId: string,
  runIds: string[],
  metric: string,
): Promise<void> {
  await q.query(
    `UPDATE metric_results SET invalidated_by = $1
      WHERE run_id = ANY($2::uuid[]) AND metric_id = $3 AND superseded_at IS NULL AND invalidated_by IS NULL`,
    [incidentId, runIds, metric],
  );
}

/** The run's current result of a metric, locked for the transaction. */
export async function lockCurrentResult(
  q: Queryable,
  runId: string,
  metricName: string,
): Promise<{ result_id: string; incident_id: string | null; partial: boolean } | undefined> {
  const { rows } = await q.query<{ result_id: string; incident_id: string | null; partial: boolean }>(
    `SELECT result_id, incident_id, partial FROM metric_results
      WHERE run_id = $1 AND metric_name = $2 AND superseded_at IS NULL FOR UPDATE`,
    [runId, metricName],
  );
  return rows[0];
}

export async function markResultSuperseded(q: Queryable, resultId: string): Promise<void> {
  await q.query('UPDATE metric_results SET superseded_at = now() WHERE result_id = $1', [resultId]);
}

export async function linkSupersededBy(q: Queryable, resultId: string, supersededBy: string): Promise<void> {
  await q.query('UPDATE metric_results SET superseded_by = $2 WHERE result_id = $1', [resultId, supersededBy]);
}

/** A recomputed or re-judged value of one metric of a run. */
export interface NewResult {
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  reason: string | null;
  slices: unknown;
  implVersion: string;
}

export interface IncidentResult extends NewResult {
  runId: string;
  metricName: string;
  metric: string;
  incidentId: string;
  partial: boolean;
}

/** Inserts the incident's result; undefined when the run already has one at that metric and version. */
export async function insertIncidentResult(q: Queryable, r: IncidentResult): Promise<string | undefined> {
  const { rows } = await q.query<{ result_id: string }>(
    `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, reason, slices,
                                 incident_id, partial)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (run_id, metric_name, impl_version) DO NOTHING RETURNING result_id`,
    [
      r.runId,
      r.metricName,
      r.metric,
      r.implVersion,
      r.value,
      r.ciLow,
      r.ciHigh,
      r.n,
      r.reason,
      JSON.stringify(r.slices),
      r.incidentId,
      r.partial,
    ],
  );
  return rows[0]?.result_id;
}

/** Every result of the run this incident wrote, with the row it replaced. */
export async function changesOf(q: Queryable, incidentId: string, runId: string): Promise<ResultChange[]> {
  const { rows } = await q.query<Record<string, any>>(
    `SELECT o.metric_name, o.metric_id, o.result_id AS old_id, n.result_id AS new_id,
            o.impl_version AS old_impl, n.impl_version AS new_impl, o.value AS old_value, n.value AS new_value,
            o.ci_low AS old_lo, o.ci_high AS old_hi, n.ci_low AS new_lo, n.ci_high AS new_hi, n.n
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
