/**
 * Overrides' data access: override requests (the overrides table) and their approvals
 * (override_approvals), and the principals' names and roles the approvals are checked
 * against. Plain SQL; the rules live in rules.ts and grants.ts.
 */
import type { Queryable } from '../../common/db';

export interface OverrideRecord {
  override_id: string;
  /** The gate check it overrides; null for an experiment's early promotion. */
  check_id: string | null;
  /** The online experiment it promotes early; null for a gate check's override. */
  experiment_id: string | null;
  justification: string;
  rules: string[] | null;
  status: string;
  required_approvals: number;
  requested_by: string;
  requested_at: Date;
  request_expires_at: Date;
  granted_at: Date | null;
  expires_at: Date | null;
  ended_reason: string | null;
  granted_decision_id: string | null;
}

/** An override with its requester's name and its approvals (approver names), as the API shows it. */
export interface OverrideListing extends OverrideRecord {
  requested_by_name: string;
  approvals: {
    approver: string;
    approverId: string;
    approvedAt: string;
    comment: string | null;
    refusedReason: string | null;
  }[];
}

export async function findOverride(q: Queryable, overrideId: string, lock = false) {
  const { rows } = await q.query<OverrideRecord>(
    `SELECT * FROM overrides WHERE override_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [overrideId],
  );
  return rows[0];
}

/** The override's status and how long until its request expires unapproved (ms, never negative). */
export async function requestWindow(q: Queryable, overrideId: string) {
  const { rows } = await q.query<{ status: string; ms: number }>(
    `SELECT status, GREATEST(0, extract(epoch FROM request_expires_at - now()) * 1000)::float8 AS ms FROM overrides WHERE override_id = $1`,
    [overrideId],
  );
  return rows[0];
}

export async function insertOverride(
  q: Queryable,
  o: {
    checkId: string;
    justification: string;
    rules: string[] | null;
    requiredApprovals: number;
    requestedBy: string;
    requestTtlSeconds: number;
  },
) {
  const { rows } = await q.query<{ override_id: string; request_expires_at: Date }>(
    `INSERT INTO overrides (check_id, justification, rules, required_approvals, requested_by, request_expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING override_id, request_expires_at`,
    [o.checkId, o.justification, o.rules, o.requiredApprovals, o.requestedBy, o.requestTtlSeconds],
  );
  return rows[0];
}

export async function grantOverride(q: Queryable, overrideId: string, ttlSeconds: number): Promise<void> {
  await q.query(
    `UPDATE overrides SET status = 'granted', granted_at = now(), expires_at = now() + make_interval(secs => $2) WHERE override_id = $1`,
    [overrideId, ttlSeconds],
  );
}

export async function expireOverride(q: Queryable, overrideId: string, reason: string): Promise<void> {
  await q.query(`UPDATE overrides SET status = 'expired', ended_reason = $2 WHERE override_id = $1`, [
    overrideId,
    reason,
  ]);
}

/** Opens an early-promotion request of an experiment: an override whose subject is the experiment. */
export async function insertExperimentOverride(
  q: Queryable,
  o: {
    experimentId: string;
    reason: string;
    requiredApprovals: number;
    requestedBy: string;
    requestTtlSeconds: number;
  },
) {
  const { rows } = await q.query<{ override_id: string; request_expires_at: Date }>(
    `INSERT INTO overrides (experiment_id, justification, required_approvals, requested_by, request_expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING override_id, request_expires_at`,
    [o.experimentId, o.reason, o.requiredApprovals, o.requestedBy, o.requestTtlSeconds],
  );
  return rows[0];
}

/** Expires a request whose window passed unapproved; true when this call expired it. */
export async function expireIfLapsed(q: Queryable, overrideId: string): Promise<boolean> {
  const updated = await q.query(
    `UPDATE overrides SET status = 'expired', ended_reason = 'request_expired'
      WHERE override_id = $1 AND status = 'requested' AND request_expires_at <= now()`,
    [overrideId],
  );
  return Boolean(updated.rowCount);
}

/** Ends an experiment's override with a status and the reason a person reads. */
export async function endExperimentOverride(q: Queryable, overrideId: string, status: string, reason: string) {
  await q.query(`UPDATE overrides SET status = $2, ended_reason = $3 WHERE override_id = $1`, [
    overrideId,
    status,
    reason,
  ]);
}

/** The check's granted overrides, oldest grant first. */
export async function grantedOverrides(q: Queryable, checkId: string) {
  const { rows } = await q.query<OverrideRecord>(
    `SELECT * FROM overrides WHERE check_id = $1 AND status = 'granted' ORDER BY granted_at`,
    [checkId],
  );
  return rows;
}

/** Links overrides to the decision that granted them (those not linked yet). */
export async function linkGrantedDecision(q: Queryable, overrideIds: string[], decisionId: string): Promise<void> {
  await q.query(
    'UPDATE overrides SET granted_decision_id = $2 WHERE override_id = ANY($1::uuid[]) AND granted_decision_id IS NULL',
    [overrideIds, decisionId],
  );
}

/** One override with names and approvals. */
export async function overrideListing(q: Queryable, overrideId: string): Promise<OverrideListing | undefined> {
  const { rows } = await q.query<OverrideListing>(
    `SELECT o.*, p.name AS requested_by_name,
              COALESCE((SELECT json_agg(json_build_object('approver', ap.name, 'approverId', a.approver_id, 'approvedAt', a.approved_at,
                                                   'comment', a.comment, 'refusedReason', a.refused_reason) ORDER BY a.approved_at)
                          FROM override_approvals a JOIN principals ap ON ap.principal_id = a.approver_id
                         WHERE a.override_id = o.override_id), '[]') AS approvals
         FROM overrides o JOIN principals p ON p.principal_id = o.requested_by WHERE o.override_id = $1`,
    [overrideId],
  );
  return rows[0];
}

/** A check's overrides, oldest request first, with names and approvals. */
export async function listOverridesOfCheck(q: Queryable, checkId: string) {
  const { rows } = await q.query<OverrideListing>(
    `SELECT o.*, p.name AS requested_by_name,
              COALESCE((SELECT json_agg(json_build_object('approver', ap.name, 'approverId', a.approver_id, 'approvedAt', a.approved_at,
                                                   'comment', a.comment, 'refusedReason', a.refused_reason) ORDER BY a.approved_at)
                          FROM override_approvals a JOIN principals ap ON ap.principal_id = a.approver_id
                         WHERE a.override_id = o.override_id), '[]') AS approvals
         FROM overrides o JOIN principals p ON p.principal_id = o.requested_by WHERE o.check_id = $1 ORDER BY o.requested_at`,
    [checkId],
  );
  return rows;
}

export async function countOverridesByStatus(q: Queryable) {
  const { rows } = await q.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM overrides GROUP BY status',
  );
  return rows;
}

/** Records an approval; false when the approver already approved this override. */
export async function insertApproval(
  q: Queryable,
  a: { overrideId: string; approverId: string; comment: string | null },
): Promise<boolean> {
  const inserted = await q.query(
    `INSERT INTO override_approvals (override_id, approver_id, comment) VALUES ($1, $2, $3)
     ON CONFLICT (override_id, approver_id) DO NOTHING`,
    [a.overrideId, a.approverId, a.comment],
  );
  return Boolean(inserted.rowCount);
}

export async function approvalExists(q: Queryable, overrideId: string, approverId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM override_approvals WHERE override_id = $1 AND approver_id = $2', [
    overrideId,
    approverId,
  ]);
  return rows.length > 0;
}

/** The approvals not refused, oldest first. */
export async function standingApprovals(q: Queryable, overrideId: string) {
  const { rows } = await q.query<{ approver_id: string }>(
    'SELECT approver_id FROM override_approvals WHERE override_id = $1 AND refused_reason IS NULL ORDER BY approved_at',
    [overrideId],
  );
  return rows;
}

/** The approvals not refused of several overrides, oldest first. */
export async function standingApprovalsOf(q: Queryable, overrideIds: string[]) {
  const { rows } = await q.query<{ override_id: string; approver_id: string }>(
    `SELECT override_id, approver_id FROM override_approvals
      WHERE override_id = ANY($1::uuid[]) AND refused_reason IS NULL ORDER BY approved_at`,
    [overrideIds],
  );
  return rows;
}

/** Approvals that count so far: not refused and not the requester's own. */
export async function countValidApprovals(q: Queryable, overrideId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM override_approvals a JOIN overrides o USING (override_id)
      WHERE a.override_id = $1 AND a.refused_reason IS NULL AND a.approver_id <> o.requested_by`,
    [overrideId],
  );
  return rows[0].n;
}

export async function refuseApproval(q: Queryable, overrideId: string, approverId: string, reason: string) {
  await q.query('UPDATE override_approvals SET refused_reason = $3 WHERE override_id = $1 AND approver_id = $2', [
    overrideId,
    approverId,
    reason,
  ]);
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

/** SQL twin of domain/access/policy.ts hasRole for the approver role: approver on the team or on '*' (admin does not imply it). */
export async function isApprover(q: Queryable, principalId: string, team: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM principal_roles WHERE principal_id = $1 AND team IN ($2, '*') AND role = 'approver' LIMIT 1`,
    [principalId, team],
  );
  return rows.length > 0;
}
