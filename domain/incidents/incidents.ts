/**
 * The incident record as activities see it, and the progress/status updates every
 * incident workflow makes. Progress is a small JSON object on the incident row: the
 * API shows it while the workflow runs.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Queryable } from '../../common/db';

export type IncidentKind = 'metric_bug' | 'dataset_contamination' | 'judge' | 'dataset_reinstatement';
export type IncidentStep =
  | 'freezing'
  | 'finding_runs'
  | 'recomputing'
  | 'invalidating'
  | 'rejudging'
  | 'redeciding'
  | 'unfreezing'
  | 'reporting'
  | 'done'
  | 'failed';

export interface IncidentRecord {
  incident_id: string;
  kind: IncidentKind;
  metric: string | null;
  bad_impl_versions: string[] | null;
  fixed_impl_version: string | null;
  dataset_version_id: string | null;
  judge_fingerprint: string | null;
  replacement_judge: Record<string, unknown> | null;
  note: string;
  status: 'open' | 'recomputing' | 'resolved' | 'failed';
  progress: Record<string, unknown>;
  report: Record<string, unknown> | null;
  workflow_id: string;
  created_by: string;
  created_at: Date;
  resolved_at: Date | null;
}

export async function loadIncident(q: Queryable, incidentId: string, kind?: IncidentKind): Promise<IncidentRecord> {
  const { rows } = await q.query<IncidentRecord>('SELECT * FROM metric_incidents WHERE incident_id = $1', [incidentId]);
  const incident = rows[0];
  if (!incident)
    throw ApplicationFailure.create({
      type: 'incident_not_found',
      message: `incident ${incidentId} does not exist`,
      nonRetryable: true,
    });
  if (kind && incident.kind !== kind) {
    throw ApplicationFailure.create({
      type: 'incident_kind',
      message: `incident ${incidentId} is a ${incident.kind} incident, not ${kind}`,
      nonRetryable: true,
    });
  }
  return incident;
}

/**
 * Records the step the workflow is on. A rerun of a resolved incident goes back to
 * `recomputing` while it works and ends resolved again: the status always says what
 * the workflow is doing now.
 */
export async function setIncidentStep(
  q: Queryable,
  incidentId: string,
  step: IncidentStep,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await q.query(
    `UPDATE metric_incidents SET status = CASE WHEN $2 IN ('done') THEN 'resolved' WHEN $2 = 'failed' THEN 'failed' ELSE 'recomputing' END,
            progress = progress || jsonb_build_object('step', $2::text) || $3::jsonb,
            resolved_at = CASE WHEN $2 = 'done' THEN COALESCE(resolved_at, now()) ELSE resolved_at END
      WHERE incident_id = $1`,
    [incidentId, step, JSON.stringify(detail)],
  );
}

/** Runs of the incident still to do, in run-id order after a cursor (one page). */
export async function pendingRuns(
  q: Queryable,
  incidentId: string,
  after: string | null,
  limit: number,
): Promise<string[]> {
  const { rows } = await q.query<{ run_id: string }>(
    `SELECT run_id FROM incident_runs WHERE incident_id = $1 AND state = 'pending' AND ($2::uuid IS NULL OR run_id > $2::uuid)
      ORDER BY run_id LIMIT $3`,
    [incidentId, after, limit],
  );
  return rows.map((r) => r.run_id);
}

export async function markIncidentRun(
  q: Queryable,
  incidentId: string,
  runId: string,
  state: 'unchanged' | 'unrecoverable' | 'recomputed' | 'invalidated',
  detail: string | null,
  changes?: unknown[],
) {
  await q.query(
    `UPDATE incident_runs SET state = $3, detail = $4, changes = COALESCE($5::jsonb, changes), updated_at = now()
      WHERE incident_id = $1 AND run_id = $2 AND state = 'pending'`,
    [incidentId, runId, state, detail, changes === undefined ? null : JSON.stringify(changes)],
  );
}
