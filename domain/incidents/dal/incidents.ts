import type { Queryable } from '../../../common/db';

export type IncidentKind = 'metric_bug' | 'dataset_contamination' | 'judge' | 'dataset_reinstatement';

export interface IncidentRow {
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
  idempotency_key: string | null;
  created_by: string;
  created_at: Date;
  resolved_at: Date | null;
}

export interface NewIncident {
  incidentId: string;
  kind: IncidentKind;
  metric?: string;
  badImplVersions?: string[];
  fixedImplVersion?: string;
  datasetVersionId?: string;
  judgeFingerprint?: string;
  replacementJudge?: unknown;
  note: string;
  workflowId: string;
  idempotencyKey?: string;
  createdBy: string;
  status?: 'open' | 'resolved';
}

/** Inserts an incident; a repeated idempotency key inserts nothing (undefined). */
export async function insertIncident(q: Queryable, i: NewIncident): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>(
    `INSERT INTO metric_incidents (incident_id, kind, metric, bad_impl_versions, fixed_impl_version, dataset_version_id, judge_fingerprint,
                                   replacement_judge, note, workflow_id, idempotency_key, created_by, status, resolved_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $13 = 'resolved' THEN now() END)
     ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *`,
    [
      i.incidentId,
      i.kind,
      i.metric ?? null,
      i.badImplVersions ?? null,
      i.fixedImplVersion ?? null,
      i.datasetVersionId ?? null,
      i.judgeFingerprint ?? null,
      i.replacementJudge === undefined ? null : JSON.stringify(i.replacementJudge),
      i.note,
      i.workflowId,
      i.idempotencyKey ?? null,
      i.createdBy,
      i.status ?? 'open',
    ],
  );
  return rows[0];
}

export async function findIncident(q: Queryable, incidentId: string): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>('SELECT * FROM metric_incidents WHERE incident_id = $1', [incidentId]);
  return rows[0];
}

export async function findByIdempotencyKey(
  q: Queryable,
  createdBy: string,
  key: string,
): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>(
    'SELECT * FROM metric_incidents WHERE created_by = $1 AND idempotency_key = $2',
    [createdBy, key],
  );
  return rows[0];
}

/** An unresolved metric-bug incident on the same metric naming one of the same bad versions. */
export async function findOpenMetricIncident(
  q: Queryable,
  metric: string,
  badVersions: string[],
): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>(
    `SELECT * FROM metric_incidents WHERE kind = 'metric_bug' AND metric = $1 AND bad_impl_versions && $2::text[]
        AND status IN ('open', 'recomputing') ORDER BY created_at LIMIT 1`,
    [metric, badVersions],
  );
  return rows[0];
}

/** An unresolved judge incident on the same judge. */
export async function findOpenJudgeIncident(q: Queryable, fingerprint: string): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>(
    `SELECT * FROM metric_incidents WHERE kind = 'judge' AND judge_fingerprint = $1 AND status IN ('open', 'recomputing')
      ORDER BY created_at LIMIT 1`,
    [fingerprint],
  );
  return rows[0];
}

/** The latest incident of a kind on a dataset version (deprecations and reinstatements). */
export async function latestDatasetIncident(
  q: Queryable,
  datasetVersionId: string,
  kind: IncidentKind,
): Promise<IncidentRow | undefined> {
  const { rows } = await q.query<IncidentRow>(
    'SELECT * FROM metric_incidents WHERE dataset_version_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 1',
    [datasetVersionId, kind],
  );
  return rows[0];
}

export interface IncidentCounts {
  runs_total: number;
  runs_done: number;
  runs_recomputed: number;
  runs_unrecoverable: number;
  runs_invalidated: number;
  decisions_reevaluated: number;
  decisions_revoked: number;
}

/** Live progress from what the incident has recorded so far. */
export async function incidentCounts(q: Queryable, incidentId: string): Promise<IncidentCounts> {
  const { rows } = await q.query<IncidentCounts>(
    `SELECT (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1) AS runs_total,
            (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1 AND state <> 'pending') AS runs_done,
            (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1 AND state = 'recomputed') AS runs_recomputed,
            (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1 AND state = 'unrecoverable') AS runs_unrecoverable,
            (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated') AS runs_invalidated,
            (SELECT count(*)::int FROM incident_decisions WHERE incident_id = $1) AS decisions_reevaluated,
            (SELECT count(*)::int FROM incident_decisions WHERE incident_id = $1 AND outcome = 'revoked') AS decisions_revoked`,
    [incidentId],
  );
  return rows[0];
}

/** Incidents newest first, paginated by (created_at, incident_id). */
export async function listIncidents(
  q: Queryable,
  kind: IncidentKind | undefined,
  limit: number,
  cursor?: { createdAt: string; incidentId: string },
) {
  const { rows } = await q.query<IncidentRow>(
    `SELECT * FROM metric_incidents WHERE ($1::text IS NULL OR kind = $1)
        AND ($2::timestamptz IS NULL OR (created_at, incident_id) < ($2::timestamptz, $3::uuid))
      ORDER BY created_at DESC, incident_id DESC LIMIT $4`,
    [kind ?? null, cursor?.createdAt ?? null, cursor?.incidentId ?? null, limit],
  );
  return rows;
}

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

export async function saveIncidentReport(q: Queryable, incidentId: string, report: unknown): Promise<void> {
  await q.query('UPDATE metric_incidents SET report = $2 WHERE incident_id = $1', [incidentId, JSON.stringify(report)]);
}

/** A reinstatement is recorded, not processed: its report is written with it and its progress is done. */
export async function saveReinstatementReport(q: Queryable, incidentId: string, report: unknown): Promise<void> {
  await q.query(`UPDATE metric_incidents SET report = $2, progress = '{"step": "done"}' WHERE incident_id = $1`, [
    incidentId,
    JSON.stringify(report),
  ]);
}

/** What a deprecation left behind: runs it invalidated and decisions it revoked (zero without one). */
export async function deprecationImpact(
  q: Queryable,
  incidentId: string | null,
): Promise<{ runs: number; decisions: number }> {
  const { rows } = await q.query<{ runs: number; decisions: number }>(
    `SELECT (SELECT count(*)::int FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated') AS runs,
            (SELECT count(*)::int FROM incident_decisions WHERE incident_id = $1 AND outcome = 'revoked') AS decisions`,
    [incidentId],
  );
  return rows[0];
}

/** Whether any metric suite version uses the judge. */
export async function judgeInUse(q: Queryable, fingerprint: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM metric_suite_versions WHERE judge_fingerprint = $1 LIMIT 1', [
    fingerprint,
  ]);
  return rows.length > 0;
}

/** Retracts the bad implementation versions of a metric (idempotent). */
export async function retractImplVersions(
  q: Queryable,
  incidentId: string,
  metric: string,
  badVersions: string[] | null,
  fixedVersion: string | null,
): Promise<void> {
  await q.query(
    `INSERT INTO metric_impl_retractions (metric, impl_version, fixed_impl_version, incident_id)
     SELECT $1, v, $3, $4 FROM unnest($2::text[]) v ON CONFLICT DO NOTHING`,
    [metric, badVersions, fixedVersion, incidentId],
  );
}

/** Freezes the metric for the incident; a rerun freezes again. */
export async function freezeMetric(q: Queryable, metric: string, incidentId: string): Promise<void> {
  await q.query(
    `INSERT INTO metric_freezes (metric, incident_id) VALUES ($1, $2)
     ON CONFLICT (metric, incident_id) DO UPDATE SET unfrozen_at = NULL`,
    [metric, incidentId],
  );
}

export async function unfreezeMetrics(q: Queryable, incidentId: string): Promise<void> {
  await q.query('UPDATE metric_freezes SET unfrozen_at = now() WHERE incident_id = $1 AND unfrozen_at IS NULL', [
    incidentId,
  ]);
}

export async function listFreezes(q: Queryable, incidentId: string) {
  const { rows } = await q.query<{ metric: string; frozen_at: Date; unfrozen_at: Date | null }>(
    'SELECT metric, frozen_at, unfrozen_at FROM metric_freezes WHERE incident_id = $1 ORDER BY metric',
    [incidentId],
  );
  return rows;
}
