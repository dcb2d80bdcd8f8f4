/**
 * Data access of the access model: the facts domain/access/policy.ts decides on, loaded per
 * resource (a run's endpoints and dataset, a gate's datasets, an incident's datasets, suite shares).
 */
import type { Queryable } from '../../common/db';
import type { DatasetScope } from './policy';
import { scopeOfRow } from './scopes';

type ScopeRow = { owner_team: string; visibility: string; allowed_teams: string[] | null } & Record<string, any>;

/** The team that owns a model version (a judge's endpoint belongs to it). */
export async function modelVersionOwnerTeam(q: Queryable, modelVersionId: string): Promise<string | null> {
  const { rows } = await q.query<{ owner_team: string }>(
    'SELECT m.owner_team FROM model_versions v JOIN models m USING (model_id) WHERE v.model_version_id = $1',
    [modelVersionId],
  );
  return rows[0]?.owner_team ?? null;
}

export interface RunAccessFacts {
  runId: string;
  status: string;
  workflowId: string;
  modelTeam: string;
  suiteTeam: string;
  /** The suite version's judge model's owner, when the suite judges. */
  judgeTeam: string | null;
  dataset: DatasetScope;
}

/** Who owns a run's endpoints and what its dataset version allows; undefined for an unknown run. */
export async function runAccessFacts(q: Queryable, runId: string): Promise<RunAccessFacts | undefined> {
  const { rows } = await q.query<ScopeRow>(
    `SELECT r.run_id, r.status, r.workflow_id, m.owner_team AS model_team, s.owner_team AS suite_team, jm.owner_team AS judge_team,
            d.owner_team, dv.visibility, dv.allowed_teams
       FROM eval_runs r
       JOIN model_versions mv ON mv.model_version_id = r.model_version_id
       JOIN models m ON m.model_id = mv.model_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
       JOIN metric_suites s ON s.metric_suite_id = sv.metric_suite_id
       JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id
       JOIN datasets d ON d.dataset_id = dv.dataset_id
       LEFT JOIN model_versions jmv ON jmv.model_version_id::text = sv.judge->>'modelVersionId'
       LEFT JOIN models jm ON jm.model_id = jmv.model_id
      WHERE r.run_id = $1`,
    [runId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    runId: r.run_id,
    status: r.status,
    workflowId: r.workflow_id,
    modelTeam: r.model_team,
    suiteTeam: r.suite_team,
    judgeTeam: r.judge_team ?? null,
    dataset: scopeOfRow(r),
  };
}

/** The scope of one dataset version by id. */
export async function datasetVersionScope(q: Queryable, datasetVersionId: string): Promise<DatasetScope | undefined> {
  const { rows } = await q.query<ScopeRow>(
    `SELECT d.owner_team, dv.visibility, dv.allowed_teams
       FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE dv.dataset_version_id = $1`,
    [datasetVersionId],
  );
  return rows[0] ? scopeOfRow(rows[0]) : undefined;
}

/**
 * Every version of the given datasets, as scopes, keyed by dataset id. A gate over a dataset
 * touches its versions (each check resolves the newest active one), so seeing the gate needs
 * seeing all of them.
 */
export async function datasetScopes(q: Queryable, datasetIds: readonly string[]): Promise<Map<string, DatasetScope[]>> {
  const out = new Map<string, DatasetScope[]>(datasetIds.map((id) => [id, []]));
  if (!datasetIds.length) return out;
  const { rows } = await q.query<ScopeRow>(
    `SELECT d.dataset_id, d.owner_team, dv.visibility, dv.allowed_teams
       FROM datasets d JOIN dataset_versions dv USING (dataset_id) WHERE d.dataset_id = ANY($1::uuid[])`,
    [datasetIds],
  );
  for (const r of rows) out.get(r.dataset_id)?.push(scopeOfRow(r));
  return out;
}

/**
 * The dataset versions each incident touches: a dataset incident's own version and the versions
 * of the runs an incident affected (incident_runs).
 */
export async function incidentScopes(
  q: Queryable,
  incidentIds: readonly string[],
): Promise<Map<string, DatasetScope[]>> {
  const out = new Map<string, DatasetScope[]>(incidentIds.map((id) => [id, []]));
  if (!incidentIds.length) return out;
  const { rows } = await q.query<ScopeRow>(
    `SELECT DISTINCT t.incident_id, d.owner_team, dv.visibility, dv.allowed_teams
       FROM (SELECT incident_id, dataset_version_id FROM metric_incidents
              WHERE incident_id = ANY($1::uuid[]) AND dataset_version_id IS NOT NULL
             UNION
             SELECT ir.incident_id, r.dataset_version_id FROM incident_runs ir JOIN eval_runs r USING (run_id)
              WHERE ir.incident_id = ANY($1::uuid[])) t
       JOIN dataset_versions dv ON dv.dataset_version_id = t.dataset_version_id
       JOIN datasets d ON d.dataset_id = dv.dataset_id`,
    [incidentIds],
  );
  for (const r of rows) out.get(r.incident_id)?.push(scopeOfRow(r));
  return out;
}

/**
 * The dataset versions each gate touches: every version of every dataset any of its versions
 * names (its datasetIds and its must_pass rules' datasets), keyed by gate id.
 */
export async function gateScopes(q: Queryable, gateIds: readonly string[]): Promise<Map<string, DatasetScope[]>> {
  const out = new Map<string, DatasetScope[]>(gateIds.map((id) => [id, []]));
  if (!gateIds.length) return out;
  const { rows } = await q.query<ScopeRow>(
    `SELECT DISTINCT g.gate_id, dv.dataset_version_id, d.owner_team, dv.visibility, dv.allowed_teams
       FROM (SELECT gv.gate_id, unnest(gv.dataset_ids) AS dataset_id FROM gate_versions gv WHERE gv.gate_id = ANY($1::uuid[])
             UNION
             SELECT gv.gate_id, (r->>'datasetId')::uuid FROM gate_versions gv, jsonb_array_elements(gv.rules) r
              WHERE gv.gate_id = ANY($1::uuid[]) AND r->>'datasetId' IS NOT NULL) g
       JOIN datasets d ON d.dataset_id = g.dataset_id
       JOIN dataset_versions dv ON dv.dataset_id = g.dataset_id`,
    [gateIds],
  );
  for (const r of rows) out.get(r.gate_id)?.push(scopeOfRow(r));
  return out;
}

export interface CheckAccessFacts {
  checkId: string;
  gateId: string;
  gateTeam: string;
  candidateTeam: string;
}

/** Who owns each check's gate and candidate model. */
export async function checkAccessFacts(q: Queryable, checkIds: readonly string[]): Promise<CheckAccessFacts[]> {
  if (!checkIds.length) return [];
  const { rows } = await q.query<Record<string, string>>(
    `SELECT c.check_id, g.gate_id, g.owner_team AS gate_team, m.owner_team AS candidate_team
       FROM gate_checks c
       JOIN gate_versions gv USING (gate_version_id)
       JOIN gates g ON g.gate_id = gv.gate_id
       JOIN model_versions mv ON mv.model_version_id = c.candidate_model_version_id
       JOIN models m ON m.model_id = mv.model_id
      WHERE c.check_id = ANY($1::uuid[])`,
    [checkIds],
  );
  return rows.map((r) => ({
    checkId: r.check_id,
    gateId: r.gate_id,
    gateTeam: r.gate_team,
    candidateTeam: r.candidate_team,
  }));
}

// ---- suite shares: a suite's owning team consents to another team's gates using it ----

/** The teams a suite is shared with. */
export async function suiteShares(q: Queryable, metricSuiteId: string): Promise<string[]> {
  const { rows } = await q.query<{ team: string }>(
    'SELECT team FROM metric_suite_shares WHERE metric_suite_id = $1 ORDER BY team',
    [metricSuiteId],
  );
  return rows.map((r) => r.team);
}

/** Shares the suite with a team; false when it already was. */
export async function insertSuiteShare(q: Queryable, metricSuiteId: string, team: string, createdBy: string) {
  const { rowCount } = await q.query(
    `INSERT INTO metric_suite_shares (metric_suite_id, team, created_by) VALUES ($1, $2, $3)
     ON CONFLICT (metric_suite_id, team) DO NOTHING`,
    [metricSuiteId, team, createdBy],
  );
  return (rowCount ?? 0) > 0;
}

/** Withdraws a share; false when there was none. */
export async function deleteSuiteShare(q: Queryable, metricSuiteId: string, team: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM metric_suite_shares WHERE metric_suite_id = $1 AND team = $2', [
    metricSuiteId,
    team,
  ]);
  return (rowCount ?? 0) > 0;
}
