/**
 * Gates' data access: gates and their versions, gate checks and their decisions, and the
 * reads a check makes of the versions, aliases, runs and freezes it pins. Plain SQL; the
 * rules live in prepare.ts, decisions.ts and the gate activities.
 */
import type { Queryable } from '../../common/db';
import type { GateRule } from './evaluateRules';
import type { CheckRuns, GateReason } from './reasons';

export interface GateRecord {
  gate_id: string;
  name: string;
  owner_team: string;
  created_by: string;
  created_at: Date;
}

export interface GateVersionRecord {
  gate_version_id: string;
  gate_id: string;
  version: number;
  metric_suite_id: string;
  /** The pinned suite version; null on gate versions recorded before pinning (they follow the newest). */
  metric_suite_version: number | null;
  dataset_ids: string[];
  baseline_alias: string;
  rules: GateRule[];
  required_approvals: number;
  override_ttl_hours: number;
  override_ttl_seconds: number | null;
  baseline_runs: 'start_missing' | 'require_existing';
  content_hash: string | null;
  description: string | null;
  created_by: string;
  created_at: Date;
}

export type CheckStatus = 'pending' | 'pass' | 'fail' | 'frozen' | 'error' | 'overridden' | 'revoked';

export interface GateCheckRecord {
  check_id: string;
  gate_version_id: string;
  candidate_model_version_id: string;
  idempotency_key: string;
  commit_sha: string | null;
  status: CheckStatus;
  reasons: GateReason[];
  runs: CheckRuns | Record<string, never>;
  workflow_id: string;
  created_by: string;
  created_at: Date;
  decided_at: Date | null;
  baseline_model_version_id: string | null;
  request_id: string | null;
}

export async function insertGate(q: Queryable, g: { name: string; ownerTeam: string; createdBy: string }) {
  const { rows } = await q.query<GateRecord>(
    'INSERT INTO gates (name, owner_team, created_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
    [g.name, g.ownerTeam, g.createdBy],
  );
  return rows[0];
}

export async function findGate(q: Queryable, gateId: string, lock = false) {
  const { rows } = await q.query<GateRecord>(`SELECT * FROM gates WHERE gate_id = $1${lock ? ' FOR UPDATE' : ''}`, [
    gateId,
  ]);
  return rows[0];
}

export async function findGateByName(q: Queryable, name: string, lock = false) {
  const { rows } = await q.query<GateRecord>(`SELECT * FROM gates WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0];
}

export async function listGates(q: Queryable, after: { createdAt: string; gateId: string } | null, limit: number) {
  const { rows } = await q.query<GateRecord>(
    `SELECT * FROM gates WHERE ($1::timestamptz IS NULL OR (created_at, gate_id) > ($1::timestamptz, $2::uuid))
      ORDER BY created_at, gate_id LIMIT $3`,
    [after?.createdAt ?? null, after?.gateId ?? null, limit],
  );
  return rows;
}

export async function latestVersion(q: Queryable, gateId: string) {
  const { rows } = await q.query<GateVersionRecord>(
    'SELECT * FROM gate_versions WHERE gate_id = $1 ORDER BY version DESC LIMIT 1',
    [gateId],
  );
  return rows[0];
}

export async function listVersions(q: Queryable, gateId: string) {
  const { rows } = await q.query<GateVersionRecord>('SELECT * FROM gate_versions WHERE gate_id = $1 ORDER BY version', [
    gateId,
  ]);
  return rows;
}

export async function insertVersion(
  q: Queryable,
  v: {
    gateId: string;
    suiteId: string;
    suiteVersion: number;
    datasetIds: string[];
    baselineAlias: string;
    rules: unknown;
    requiredApprovals: number;
    overrideTtlSeconds: number;
    baselineRuns: string;
    description: string | null;
    contentHash: string;
    createdBy: string;
  },
) {
  const { rows } = await q.query<GateVersionRecord>(
    `INSERT INTO gate_versions (gate_id, version, metric_suite_id, dataset_ids, baseline_alias, rules, required_approvals,
                                override_ttl_hours,
                                override_ttl_seconds, baseline_runs, description, content_hash, created_by, metric_suite_version)
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3::uuid[], $4, $5, $6, CEIL($7 / 3600.0)::int, $7, $8, $9, $10, $11, $12
       FROM gate_versions WHERE gate_id = $1
     RETURNING *`,
    [
      v.gateId,
      v.suiteId,
      v.datasetIds,
      v.baselineAlias,
      JSON.stringify(v.rules),
      v.requiredApprovals,
      v.overrideTtlSeconds,
      v.baselineRuns,
      v.description,
      v.contentHash,
      v.createdBy,
      v.suiteVersion,
    ],
  );
  return rows[0];
}

export async function loadCheck(q: Queryable, checkId: string): Promise<GateCheckRecord | undefined> {
  const { rows } = await q.query<GateCheckRecord>('SELECT * FROM gate_checks WHERE check_id = $1', [checkId]);
  return rows[0];
}

export interface CheckContext {
  check: GateCheckRecord;
  version: GateVersionRecord;
  gate: GateRecord;
  candidate: { modelId: string; modelName: string; modelVersion: string; ownerTeam: string };
}

export async function loadCheckContext(q: Queryable, checkId: string): Promise<CheckContext | undefined> {
  const check = await loadCheck(q, checkId);
  if (!check) return undefined;
  const { rows } = await q.query<Record<string, any>>(
    `SELECT row_to_json(gv) AS version, row_to_json(g) AS gate, m.model_id, m.name AS model_name, m.owner_team, mv.version AS model_version
       FROM gate_versions gv JOIN gates g USING (gate_id), model_versions mv JOIN models m USING (model_id)
      WHERE gv.gate_version_id = $1 AND mv.model_version_id = $2`,
    [check.gate_version_id, check.candidate_model_version_id],
  );
  const r = rows[0];
  return {
    check,
    version: r.version,
    gate: r.gate,
    candidate: {
      modelId: r.model_id,
      modelName: r.model_name,
      modelVersion: `${r.model_name}@${r.model_version}`,
      ownerTeam: r.owner_team,
    },
  };
}

export interface ActiveFreeze {
  metric: string;
  incident_id: string;
  note: string | null;
  frozen_at: Date;
}

/** Metrics (metric ids) frozen right now, each with the incident that froze it. */
export async function activeFreezes(q: Queryable, metricIds: string[]): Promise<ActiveFreeze[]> {
  if (!metricIds.length) return [];
  const { rows } = await q.query<ActiveFreeze>(
    `SELECT f.metric, f.incident_id, i.note, f.frozen_at FROM metric_freezes f LEFT JOIN metric_incidents i USING (incident_id)
      WHERE f.metric = ANY($1::text[]) AND f.unfrozen_at IS NULL ORDER BY f.metric, f.frozen_at`,
    [metricIds],
  );
  return rows;
}

/** The latest decision the rules made (cause 'check'): what overrides are measured against. */
export async function latestRuleDecision(q: Queryable, checkId: string) {
  const { rows } = await q.query<{
    decision_id: string;
    status: string;
    reasons: GateReason[];
    result_ids: string[];
    run_ids: string[];
  }>(
    `SELECT decision_id::text, status, reasons, result_ids::text[], run_ids::text[] FROM gate_decisions
      WHERE check_id = $1 AND cause = 'check' ORDER BY decision_id DESC LIMIT 1`,
    [checkId],
  );
  return rows[0];
}

/** The status of a check; `lock` takes the row for the caller's transaction. */
export async function checkStatus(q: Queryable, checkId: string, lock = false): Promise<CheckStatus | undefined> {
  const { rows } = await q.query<{ status: CheckStatus }>(
    `SELECT status FROM gate_checks WHERE check_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [checkId],
  );
  return rows[0]?.status;
}

/** Moves a check to a decided status when it is in one of `from`; false when it is not (nothing written). */
export async function moveCheck(
  q: Queryable,
  checkId: string,
  to: { status: CheckStatus; reasons: GateReason[] },
  from: CheckStatus[],
): Promise<boolean> {
  const moved = await q.query(
    `UPDATE gate_checks SET status = $2, reasons = $3, decided_at = now() WHERE check_id = $1 AND status = ANY($4::text[])`,
    [checkId, to.status, JSON.stringify(to.reasons), from],
  );
  return Boolean(moved.rowCount);
}

export async function insertDecision(
  q: Queryable,
  d: {
    checkId: string;
    status: CheckStatus;
    reasons: GateReason[];
    resultIds: string[];
    runIds: string[];
    cause: 'check' | 'override' | 'override_expired';
    decidedBy: string | null;
  },
): Promise<string> {
  const { rows } = await q.query<{ decision_id: string }>(
    `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids, cause, decided_by)
     VALUES ($1, $2, $3, $4::bigint[], $5::uuid[], $6, $7) RETURNING decision_id::text`,
    [d.checkId, d.status, JSON.stringify(d.reasons), d.resultIds, d.runIds, d.cause, d.decidedBy],
  );
  return rows[0].decision_id;
}

/** Records the runs a pending check evaluates (a check decided meanwhile keeps its own). */
export async function setPendingCheckRuns(q: Queryable, checkId: string, runs: Partial<CheckRuns>): Promise<void> {
  await q.query('UPDATE gate_checks SET runs = $2 WHERE check_id = $1 AND status = $3', [
    checkId,
    JSON.stringify(runs),
    'pending',
  ]);
}

/** Pins the runs and the baseline a check evaluates. */
export async function pinCheckRuns(
  q: Queryable,
  checkId: string,
  runs: CheckRuns,
  baselineModelVersionId: string | null,
): Promise<void> {
  await q.query('UPDATE gate_checks SET runs = $2, baseline_model_version_id = $3 WHERE check_id = $1', [
    checkId,
    JSON.stringify(runs),
    baselineModelVersionId,
  ]);
}

/** A registered model version by its model's name and version, with the model's team. */
export async function findCandidate(q: Queryable, modelName: string, version: string) {
  const { rows } = await q.query<{ model_version_id: string; owner_team: string }>(
    'SELECT v.model_version_id, m.owner_team FROM models m JOIN model_versions v USING (model_id) WHERE m.name = $1 AND v.version = $2',
    [modelName, version],
  );
  return rows[0];
}

/** Serialises find-or-create of a check per (gate version, candidate) until the transaction ends. */
export async function lockCheckKey(q: Queryable, gateVersionId: string, candidateId: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gateCheck:${gateVersionId}:${candidateId}`]);
}

export async function findPendingCheck(q: Queryable, gateVersionId: string, candidateId: string) {
  const { rows } = await q.query<GateCheckRecord>(
    `SELECT * FROM gate_checks WHERE gate_version_id = $1 AND candidate_model_version_id = $2 AND status = 'pending'
                                                          ORDER BY created_at LIMIT 1`,
    [gateVersionId, candidateId],
  );
  return rows[0];
}

export async function findCheckByKey(
  q: Queryable,
  gateVersionId: string,
  candidateId: string,
  key: string | undefined,
) {
  const { rows } = await q.query<GateCheckRecord>(
    'SELECT * FROM gate_checks WHERE gate_version_id = $1 AND candidate_model_version_id = $2 AND idempotency_key = $3',
    [gateVersionId, candidateId, key],
  );
  return rows[0];
}

/** Inserts a check; undefined when one with the same (gate version, candidate, idempotency key) exists. */
export async function insertCheck(
  q: Queryable,
  c: {
    checkId: string;
    gateVersionId: string;
    candidateId: string;
    idempotencyKey: string;
    commitSha: string | null;
    workflowId: string;
    createdBy: string;
    requestId: string;
  },
) {
  const { rows } = await q.query<GateCheckRecord>(
    `INSERT INTO gate_checks (check_id, gate_version_id, candidate_model_version_id, idempotency_key, commit_sha, workflow_id,
                              created_by, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (gate_version_id, candidate_model_version_id, idempotency_key) DO NOTHING RETURNING *`,
    [c.checkId, c.gateVersionId, c.candidateId, c.idempotencyKey, c.commitSha, c.workflowId, c.createdBy, c.requestId],
  );
  return rows[0];
}

export async function countChecksByStatus(q: Queryable) {
  const { rows } = await q.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM gate_checks GROUP BY status',
  );
  return rows;
}

/** The suite's newest version, with the suite's purpose and name. */
/** The suite version a gate version evaluates with: its pinned one, or the newest when it pinned none. */
export async function latestSuiteVersion(q: Queryable, suiteId: string, pinned: number | null = null) {
  const { rows } = await q.query<{
    metric_suite_version_id: string;
    version: number;
    metrics: { name: string; metric: string }[];
    purpose: string;
    name: string;
  }>(
    `SELECT sv.metric_suite_version_id, sv.version, sv.metrics, s.purpose, s.name
       FROM metric_suite_versions sv JOIN metric_suites s USING (metric_suite_id)
      WHERE sv.metric_suite_id = $1 AND ($2::int IS NULL OR sv.version = $2) ORDER BY sv.version DESC LIMIT 1`,
    [suiteId, pinned],
  );
  return rows[0];
}

export async function suiteVersionMetrics(q: Queryable, suiteVersionId: string) {
  const { rows } = await q.query<{ metrics: { name: string; metric: string }[] }>(
    'SELECT metrics FROM metric_suite_versions WHERE metric_suite_version_id = $1',
    [suiteVersionId],
  );
  return rows[0].metrics;
}

/** Each dataset with its newest active version (null columns when every version is deprecated). */
export async function latestDatasetVersions(q: Queryable, datasetIds: string[]) {
  const { rows } = await q.query<{
    dataset_id: string;
    name: string;
    dataset_version_id: string | null;
    version: number | null;
    row_count: string | null;
    owner_team: string;
    visibility: string | null;
    allowed_teams: string[] | null;
  }>(
    `SELECT d.dataset_id, d.name, d.owner_team, v.dataset_version_id, v.version, v.row_count, v.visibility, v.allowed_teams
       FROM datasets d
       LEFT JOIN LATERAL (SELECT * FROM dataset_versions WHERE dataset_id = d.dataset_id AND status = 'active'
                           ORDER BY version DESC LIMIT 1) v ON true
      WHERE d.dataset_id = ANY($1::uuid[])`,
    [datasetIds],
  );
  return rows;
}

/** The suite's newest version number and each dataset's newest active version number, now. */
export async function currentVersions(q: Queryable, suiteId: string, datasetIds: string[]) {
  const { rows } = await q.query<{
    suite_version: number;
    datasets: { dataset_id: string; version: number | null }[];
  }>(
    `SELECT (SELECT max(version) FROM metric_suite_versions WHERE metric_suite_id = $1) AS suite_version,
              (SELECT json_agg(json_build_object('dataset_id', d, 'version',
                        (SELECT max(version) FROM dataset_versions WHERE dataset_id = d AND status = 'active')))
                 FROM unnest($2::uuid[]) d) AS datasets`,
    [suiteId, datasetIds],
  );
  return rows[0];
}

export async function resolveAlias(q: Queryable, modelId: string, alias: string) {
  const { rows } = await q.query<{ model_version_id: string; model_version: string }>(
    `SELECT a.model_version_id, m.name || '@' || v.version AS model_version FROM model_aliases a
       JOIN model_versions v USING (model_version_id) JOIN models m ON m.model_id = a.model_id WHERE a.model_id = $1 AND a.alias = $2`,
    [modelId, alias],
  );
  return rows[0];
}

/** The model version's newest succeeded release run on any version of the dataset, with the versions it used. */
export async function latestReleaseRun(q: Queryable, modelVersionId: string, datasetId: string) {
  const { rows } = await q.query<{ run_id: string; dataset_version: number; suite_version: number }>(
    `SELECT r.run_id, dv.version AS dataset_version, sv.version AS suite_version FROM eval_runs r
       JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id
       JOIN metric_suite_versions sv ON sv.metric_suite_version_id = r.metric_suite_version_id
      WHERE r.model_version_id = $1 AND dv.dataset_id = $2 AND r.mode = 'release' AND r.status = 'succeeded'
      ORDER BY r.finished_at DESC NULLS LAST LIMIT 1`,
    [modelVersionId, datasetId],
  );
  return rows[0];
}

export interface BaselineOutcomes {
  dataset_id: string;
  /** The dataset's newest active version's rows (null when every version is deprecated). */
  row_count: string | null;
  /** The newest succeeded release run, on that version and suite version, of a model version the alias points at. */
  run_id: string | null;
  model_version: string | null;
  /** That run's current results: metric name -> value, n and slices. */
  results: Record<
    string,
    { value: number | null; n: number; slices: Record<string, { value?: number | null; n?: number }> }
  >;
}

/** What a gate's operating characteristics are computed from: each dataset's size and the baseline's recorded outcomes. */
export async function baselineOutcomes(
  q: Queryable,
  suiteVersionId: string,
  datasetIds: string[],
  alias: string,
): Promise<BaselineOutcomes[]> {
  const { rows } = await q.query<BaselineOutcomes>(
    `SELECT d.dataset_id, v.row_count, br.run_id, br.model_version,
            COALESCE((SELECT json_object_agg(mr.metric_name, json_build_object('value', mr.value, 'n', mr.n,
                                                                               'slices', mr.slices))
                        FROM metric_results mr WHERE mr.run_id = br.run_id AND mr.superseded_at IS NULL),
                     '{}'::json) AS results
       FROM unnest($2::uuid[]) AS d(dataset_id)
       LEFT JOIN LATERAL (SELECT dataset_version_id, row_count FROM dataset_versions
                           WHERE dataset_id = d.dataset_id AND status = 'active' ORDER BY version DESC LIMIT 1) v ON true
       LEFT JOIN LATERAL (SELECT r.run_id, m.name || '@' || mv.version AS model_version FROM eval_runs r
                            JOIN model_aliases a ON a.model_version_id = r.model_version_id AND a.alias = $3
                            JOIN model_versions mv ON mv.model_version_id = r.model_version_id
                            JOIN models m ON m.model_id = mv.model_id
                           WHERE r.dataset_version_id = v.dataset_version_id AND r.metric_suite_version_id = $1
                             AND r.mode = 'release' AND r.status = 'succeeded' AND r.invalid_reason IS NULL
                           ORDER BY r.finished_at DESC NULLS LAST LIMIT 1) br ON true`,
    [suiteVersionId, datasetIds, alias],
  );
  return rows;
}
