/**
 * The runs an incident touches: its incident_runs records, and what it reads and changes on
 * the runs themselves (eval_runs, their shards).
 */
import type { Queryable } from '../../../common/db';
import type { ResultChange } from './results';

/** Records the affected runs as pending with their status now (ON CONFLICT keeps an earlier attempt's record). */
export async function addAffectedRuns(q: Queryable, incidentId: string, runIds: string[]): Promise<void> {
  await q.query(
    `INSERT INTO incident_runs (incident_id, run_id, prior_status)
     SELECT $1, r.run_id, r.status FROM eval_runs r WHERE r.run_id = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
    [incidentId, runIds],
  );
}

/** Records runs as pending with the statuses the caller read (ON CONFLICT keeps an earlier attempt's record). */
export async function addRunsWithStatus(
  q: Queryable,
  incidentId: string,
  runs: { run_id: string; status: string }[],
): Promise<void> {
  await q.query(
    `INSERT INTO incident_runs (incident_id, run_id, prior_status)
     SELECT $1, run_id, status FROM unnest($2::uuid[], $3::text[]) AS x(run_id, status)
     ON CONFLICT DO NOTHING`,
    [incidentId, runs.map((r) => r.run_id), runs.map((r) => r.status)],
  );
}

export async function countIncidentRuns(q: Queryable, incidentId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_runs WHERE incident_id = $1', [
    incidentId,
  ]);
  return rows[0].n;
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

/** A recomputed run: its changes, and for a judge incident what re-judging it cost. */
export async function markRunRecomputed(
  q: Queryable,
  incidentId: string,
  runId: string,
  changes: ResultChange[],
): Promise<void> {
  await q.query(
    `UPDATE incident_runs SET state = 'recomputed', changes = $3, detail = NULL, updated_at = now()
      WHERE incident_id = $1 AND run_id = $2`,
    [incidentId, runId, JSON.stringify(changes)],
  );
}

export async function markRunRejudged(
  q: Queryable,
  incidentId: string,
  runId: string,
  changes: ResultChange[],
  judge: { calls: number; costUsd: string },
): Promise<void> {
  await q.query(
    `UPDATE incident_runs SET state = 'recomputed', changes = $3, detail = NULL, judge_calls = $4, judge_cost_usd = $5, updated_at = now()
      WHERE incident_id = $1 AND run_id = $2`,
    [incidentId, runId, JSON.stringify(changes), judge.calls, judge.costUsd],
  );
}

/** What re-judging the incident's runs cost so far (numeric strings). */
export async function rejudgingTotals(q: Queryable, incidentId: string): Promise<{ calls: string; cost: string }> {
  const { rows } = await q.query<{ calls: string; cost: string }>(
    'SELECT COALESCE(sum(judge_calls), 0) AS calls, COALESCE(sum(judge_cost_usd), 0) AS cost FROM incident_runs WHERE incident_id = $1',
    [incidentId],
  );
  return rows[0];
}

export interface IncidentRunRow {
  run_id: string;
  state: string;
  detail: string | null;
  changes: ResultChange[];
}

/** Every run the incident recorded, in run-id order. */
export async function listIncidentRuns(q: Queryable, incidentId: string): Promise<IncidentRunRow[]> {
  const { rows } = await q.query<IncidentRunRow>(
    'SELECT run_id, state, detail, changes FROM incident_runs WHERE incident_id = $1 ORDER BY run_id',
    [incidentId],
  );
  return rows;
}

/** The runs a recompute finished with: recomputed (their changes) or unrecoverable (why). */
export async function recomputedRuns(q: Queryable, incidentId: string): Promise<IncidentRunRow[]> {
  const { rows } = await q.query<IncidentRunRow>(
    `SELECT run_id, state, detail, changes FROM incident_runs WHERE incident_id = $1 AND state IN ('recomputed', 'unrecoverable')`,
    [incidentId],
  );
  return rows;
}

/** The ids of every run the incident recorded. */
export async function incidentRunIds(q: Queryable, incidentId: string): Promise<string[]> {
  const { rows } = await q.query<{ run_id: string }>(`SELECT run_id FROM incident_runs WHERE incident_id = $1`, [
    incidentId,
  ]);
  return rows.map((r) => r.run_id);
}

/** The ids of the runs the incident invalidated. */
export async function invalidatedRunIds(q: Queryable, incidentId: string): Promise<string[]> {
  const { rows } = await q.query<{ run_id: string }>(
    `SELECT run_id FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated'`,
    [incidentId],
  );
  return rows.map((r) => r.run_id);
}

/** Records every valid run on the dataset version as invalidated by the incident, with its status before. */
export async function recordRunsOnVersion(
  q: Queryable,
  incidentId: string,
  datasetVersionId: string | null,
  reason: string,
): Promise<void> {
  await q.query(
    `INSERT INTO incident_runs (incident_id, run_id, prior_status, state, detail)
     SELECT $1, run_id, status, 'invalidated', $3 FROM eval_runs WHERE dataset_version_id = $2 AND status <> 'invalid'
     ON CONFLICT DO NOTHING`,
    [incidentId, datasetVersionId, reason],
  );
}

/** Marks the runs the incident recorded as invalidated invalid, with the reason. */
export async function invalidateRecordedRuns(q: Queryable, incidentId: string, reason: string): Promise<void> {
  await q.query(
    `UPDATE eval_runs SET status = 'invalid', invalid_reason = $2
      WHERE run_id IN (SELECT run_id FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated') AND status <> 'invalid'`,
    [incidentId, reason],
  );
}

/** How many runs the incident invalidated, and the workflow ids of those that were queued or running. */
export async function invalidatedRunsSummary(
  q: Queryable,
  incidentId: string,
): Promise<{ n: number; in_flight: string[] }> {
  const { rows } = await q.query<{ n: number; in_flight: string[] }>(
    `SELECT count(*)::int AS n, COALESCE(array_agg(r.workflow_id) FILTER (WHERE i.prior_status IN ('queued', 'running')), '{}') AS in_flight
       FROM incident_runs i JOIN eval_runs r USING (run_id) WHERE i.incident_id = $1 AND i.state = 'invalidated'`,
    [incidentId],
  );
  return rows[0];
}

export async function invalidateRun(q: Queryable, runId: string, reason: string): Promise<void> {
  await q.query(
    `UPDATE eval_runs SET status = 'invalid', invalid_reason = $2 WHERE run_id = $1 AND status <> 'invalid'`,
    [runId, reason],
  );
}

/** Succeeded release runs the judge scored whose judged results are current and not this incident's. */
export async function releaseRunsJudgedBy(
  q: Queryable,
  fingerprint: string | null,
  metric: string,
  incidentId: string,
): Promise<{ run_id: string; status: string }[]> {
  const { rows } = await q.query<{ run_id: string; status: string }>(
    `SELECT DISTINCT r.run_id, r.status FROM eval_runs r JOIN metric_results mr USING (run_id)
      WHERE r.judge_fingerprint = $1 AND r.mode = 'release' AND r.status = 'succeeded'
        AND mr.metric_id = $2 AND mr.superseded_at IS NULL AND mr.incident_id IS DISTINCT FROM $3`,
    [fingerprint, metric, incidentId],
  );
  return rows;
}

export async function shardProgress(
  q: Queryable,
  runId: string,
  shardIndex: number,
): Promise<{ rows_done: number; status: string } | undefined> {
  const { rows } = await q.query<{ rows_done: number; status: string }>(
    'SELECT rows_done, status FROM eval_run_shards WHERE run_id = $1 AND shard_index = $2',
    [runId, shardIndex],
  );
  return rows[0];
}

/** The object key of the run's dataset shard, if it has one. */
export async function datasetShardKey(q: Queryable, runId: string, shardIndex: number): Promise<string | undefined> {
  const { rows } = await q.query<{ object_key: string }>(
    `SELECT s.object_key FROM eval_runs r JOIN dataset_shards s ON s.dataset_version_id = r.dataset_version_id
      WHERE r.run_id = $1 AND s.shard_index = $2`,
    [runId, shardIndex],
  );
  return rows[0]?.object_key;
}
