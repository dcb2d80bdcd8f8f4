/**
 * Gate records as the gate activities and the gates API both read and write them: checks,
 * their decisions (every decision is a new gate_decisions row; the check row carries the
 * latest), and the freezes that make a check answer `frozen`.
 */
import { recordAudit } from '../../common/audit';
import type { Queryable } from '../../common/db';
import type { GateRule, RuleReason } from './evaluateRules';

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

/** Why a check blocked without (or before) evaluating its rules: fail closed, with a reason a person can act on. */
export type ClosedCode =
  | 'no_baseline'
  | 'stale_baseline'
  | 'stale_versions'
  | 'run_failed'
  | 'run_invalid'
  | 'run_partial'
  | 'run_not_release'
  | 'judge_drift'
  | 'dataset_deprecated'
  | 'metric_frozen'
  | 'not_comparable'
  | 'not_release_blocking'
  | 'rule_unknown_metric'
  | 'run_not_startable'
  | 'timeout'
  | 'cancelled'
  | 'internal';

export interface ClosedReason {
  code: ClosedCode;
  verdict: 'error' | 'frozen';
  message: string;
  datasetId?: string;
  runId?: string;
  metric?: string;
  incidentId?: string;
}

export interface OverrideReason {
  code: 'override';
  verdict: 'overridden' | 'expired';
  message: string;
  overrideIds: string[];
  rules: string[];
  justification: string[];
  requestedBy: string[];
  approvedBy: string[];
}

export type GateReason = (RuleReason & { overridden?: boolean }) | ClosedReason | OverrideReason;

/** What a check evaluated: the suite version, the resolved baseline and, per dataset, the runs. */
export interface CheckRuns {
  suiteVersionId: string;
  suiteVersion: number;
  baseline: { alias: string; modelVersionId: string; modelVersion: string } | null;
  datasets: CheckDataset[];
}

export interface CheckDataset {
  datasetId: string;
  datasetName: string;
  datasetVersionId: string;
  datasetVersion: number;
  rowCount: number;
  candidateRunId: string;
  baselineRunId: string | null;
  /** Runs this check started (the others already existed and were reused). */
  started: string[];
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

/** Metrics (metric ids) frozen right now, each with the incident that froze it. */
export async function activeFreezes(
  q: Queryable,
  metricIds: string[],
): Promise<{ metric: string; incident_id: string; note: string | null; frozen_at: Date }[]> {
  if (!metricIds.length) return [];
  const { rows } = await q.query<{ metric: string; incident_id: string; note: string | null; frozen_at: Date }>(
    `SELECT f.metric, f.incident_id, i.note, f.frozen_at FROM metric_freezes f LEFT JOIN metric_incidents i USING (incident_id)
      WHERE f.metric = ANY($1::text[]) AND f.unfrozen_at IS NULL ORDER BY f.metric, f.frozen_at`,
    [metricIds],
  );
  return rows;
}

export function frozenReasons(
  freezes: Awaited<ReturnType<typeof activeFreezes>>,
  ruleMetricsById: Map<string, string[]>,
): ClosedReason[] {
  return freezes.map((f) => ({
    code: 'metric_frozen',
    verdict: 'frozen',
    metric: f.metric,
    incidentId: f.incident_id,
    message:
      `metric ${f.metric} (rules on ${(ruleMetricsById.get(f.metric) ?? [f.metric]).join(', ')}) is frozen by incident ${f.incident_id}` +
      `${f.note ? ` (${f.note})` : ''} since ${f.frozen_at.toISOString()}; checks answer frozen until the incident is resolved`,
  }));
}

export interface NewDecision {
  checkId: string;
  status: Exclude<CheckStatus, 'pending' | 'revoked'>;
  reasons: GateReason[];
  resultIds: string[];
  runIds: string[];
  cause: 'check' | 'override' | 'override_expired';
  decidedBy?: string | null;
  /** The check's status must be one of these for the decision to apply (a retried activity finds it applied). */
  from: CheckStatus[];
  audit: { action: string; detail?: Record<string, unknown> };
}

/**
 * Writes a decision and moves the check to it, in the caller's transaction. Returns false,
 * writing nothing, when the check is no longer in a state the decision applies to.
 */
export async function recordDecision(tx: Queryable, d: NewDecision): Promise<{ decisionId: string } | null> {
  const moved = await tx.query(
    `UPDATE gate_checks SET status = $2, reasons = $3, decided_at = now() WHERE check_id = $1 AND status = ANY($4::text[])`,
    [d.checkId, d.status, JSON.stringify(d.reasons), d.from],
  );
  if (!moved.rowCount) return null;
  const { rows } = await tx.query<{ decision_id: string }>(
    `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids, cause, decided_by)
     VALUES ($1, $2, $3, $4::bigint[], $5::uuid[], $6, $7) RETURNING decision_id::text`,
    [
      d.checkId,
      d.status,
      JSON.stringify(d.reasons),
      [...new Set(d.resultIds)],
      [...new Set(d.runIds)],
      d.cause,
      d.decidedBy ?? null,
    ],
  );
  await recordAudit(tx, {
    principalId: d.decidedBy ?? null,
    action: d.audit.action,
    entityKind: 'gate_check',
    entityId: d.checkId,
    detail: { status: d.status, decisionId: rows[0].decision_id, ...d.audit.detail },
  });
  return { decisionId: rows[0].decision_id };
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

/** Principal names by id, for reasons a person reads. */
export async function principalNames(q: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const { rows } = await q.query<{ principal_id: string; name: string }>(
    'SELECT principal_id, name FROM principals WHERE principal_id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.principal_id, r.name]));
}

/** SQL twin of api/http/context.ts hasRole for the approver role: approver or admin on the team or on '*'. */
export async function isApprover(q: Queryable, principalId: string, team: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM principal_roles WHERE principal_id = $1 AND team IN ($2, '*') AND role IN ('approver', 'admin') LIMIT 1`,
    [principalId, team],
  );
  return rows.length > 0;
}
