/**
 * What an override changes, in the caller's transaction: approvals are verified again
 * against the records, an override is granted once enough valid approvals are in, and a
 * request or grant expires when its timer fires. The check becomes `overridden` only while
 * the granted, unexpired overrides together cover every failing blocking rule; when one
 * expires and they no longer do, it is `fail` again. Every grant, refusal and expiry is
 * audited in the same transaction.
 */
import { recordAudit } from '../audit/dal';
import type { Queryable } from '../../common/db';
import { checkStatus, latestRuleDecision, type CheckContext } from '../gates/dal';
import { recordDecision } from '../gates/decisions';
import type { OverrideReason } from '../gates/reasons';
import * as dal from './dal';
import { approvalRefusal, coverage, failingRules, overrideTtlSeconds, ruleReasonsOf } from './rules';

/**
 * Moves the check between `fail` and `overridden` to match the granted overrides. Returns
 * the check's status afterwards (a `revoked` or otherwise decided check is left alone).
 */
export async function applyOverrides(tx: Queryable, ctx: CheckContext, decidedBy: string | null): Promise<string> {
  const status = (await checkStatus(tx, ctx.check.check_id, true))!;
  if (status !== 'fail' && status !== 'overridden') return status;
  const ruleDecision = await latestRuleDecision(tx, ctx.check.check_id);
  const ruleReasons = ruleReasonsOf(ruleDecision.reasons);
  const failing = failingRules(ruleDecision.reasons);
  const granted = await dal.grantedOverrides(tx, ctx.check.check_id);
  const { isCovered, fullyCovered } = coverage(failing, granted);
  const base = { resultIds: ruleDecision.result_ids, runIds: ruleDecision.run_ids, decidedBy };

  if (status === 'fail' && fullyCovered) {
    const approvals = await dal.standingApprovalsOf(
      tx,
      granted.map((o) => o.override_id),
    );
    const names = await dal.principalNames(tx, [
      ...granted.map((o) => o.requested_by),
      ...approvals.map((a) => a.approver_id),
    ]);
    const overridesWere = granted.length === 1 ? 'an override was' : 'overrides were';
    const requesters = granted.map((o) => names.get(o.requested_by)).join(', ');
    const justifications = granted.map((o) => o.justification).join('"; "');
    const approvers = [...new Set(approvals.map((a) => names.get(a.approver_id)))].join(', ');
    const validUntil = granted.map((o) => o.expires_at?.toISOString()).sort()[0];
    const reason: OverrideReason = {
      code: 'override',
      verdict: 'overridden',
      overrideIds: granted.map((o) => o.override_id),
      rules: failing,
      justification: granted.map((o) => o.justification),
      requestedBy: granted.map((o) => names.get(o.requested_by) ?? o.requested_by),
      approvedBy: [...new Set(approvals.map((a) => names.get(a.approver_id) ?? a.approver_id))],
      message:
        `overridden: ${failing.join(', ')} failed and ${overridesWere} granted — requested by ${requesters} ("${justifications}"), ` +
        `approved by ${approvers}; valid until ${validUntil}`,
    };
    const decided = await recordDecision(tx, {
      checkId: ctx.check.check_id,
      status: 'overridden',
      cause: 'override',
      from: ['fail'],
      ...base,
      reasons: [...ruleReasons.map((r) => (r.verdict === 'fail' ? { ...r, overridden: true } : r)), reason],
      audit: { action: 'gate_check.override', detail: { overrideIds: reason.overrideIds } },
    });
    if (decided) await dal.linkGrantedDecision(tx, reason.overrideIds, decided.decisionId);
    return 'overridden';
  }
  if (status === 'overridden' && !fullyCovered) {
    const uncovered = failing.filter((r) => !isCovered(r));
    const reason: OverrideReason = {
      code: 'override',
      verdict: 'expired',
      overrideIds: [],
      rules: uncovered,
      justification: [],
      requestedBy: [],
      approvedBy: [],
      message:
        `the override of ${uncovered.join(', ')} expired; ` +
        'the check fails again until a new override is granted or a new check passes',
    };
    await recordDecision(tx, {
      checkId: ctx.check.check_id,
      status: 'fail',
      cause: 'override_expired',
      from: ['overridden'],
      ...base,
      reasons: [...ruleReasons, reason],
      audit: { action: 'gate_check.override_expired' },
    });
    return 'fail';
  }
  return status;
}

/** Re-verifies the override's approvals (refusing and auditing those that do not count); grants it when enough are in. */
export async function tallyApprovals(
  tx: Queryable,
  ctx: CheckContext,
  overrideId: string,
): Promise<{ granted: boolean; ttlMs: number; checkStatus: string; approvals: number }> {
  const checkId = ctx.check.check_id;
  const o = await dal.findOverride(tx, overrideId, true);
  if (!o) throw new Error(`override ${overrideId} does not exist`);
  const team = ctx.gate.owner_team;
  let valid = 0;
  let lastApprover: string | null = null;
  for (const a of await dal.standingApprovals(tx, overrideId)) {
    const refusal = await approvalRefusal({ approverId: a.approver_id, requestedBy: o.requested_by }, () =>
      dal.isApprover(tx, a.approver_id, team),
    );
    if (!refusal) {
      valid += 1;
      lastApprover = a.approver_id;
      continue;
    }
    const refused =
      refusal === 'self_approval'
        ? 'the requester cannot approve their own override'
        : `not an approver on team ${team}`;
    await dal.refuseApproval(tx, overrideId, a.approver_id, refused);
    await recordAudit(tx, {
      principalId: a.approver_id,
      action: 'override.approval_refused',
      entityKind: 'override',
      entityId: overrideId,
      detail: { checkId, reason: refused, by: 'workflow' },
    });
  }
  const status = (await checkStatus(tx, checkId))!;
  if (o.status !== 'requested' || valid < o.required_approvals) {
    const ttlMs = o.status === 'granted' && o.expires_at ? Math.max(0, o.expires_at.getTime() - Date.now()) : 0;
    return { granted: o.status === 'granted', ttlMs, checkStatus: status, approvals: valid };
  }
  const ttlSeconds = overrideTtlSeconds(ctx.version);
  await dal.grantOverride(tx, overrideId, ttlSeconds);
  await recordAudit(tx, {
    principalId: lastApprover,
    action: 'override.grant',
    entityKind: 'override',
    entityId: overrideId,
    detail: { checkId, approvals: valid, ttlSeconds },
  });
  const after = await applyOverrides(tx, ctx, lastApprover);
  return { granted: true, ttlMs: ttlSeconds * 1000, checkStatus: after, approvals: valid };
}

/** Expires an unapproved request, or a granted override whose TTL ended (the check may fail again). */
export async function expireOverride(
  tx: Queryable,
  ctx: CheckContext,
  overrideId: string,
  phase: 'request' | 'grant',
): Promise<{ checkStatus: string }> {
  const checkId = ctx.check.check_id;
  const o = await dal.findOverride(tx, overrideId, true);
  const expected = phase === 'request' ? 'requested' : 'granted';
  if (o?.status === expected) {
    const why = phase === 'request' ? 'not approved before the request expired' : 'its TTL ended';
    await dal.expireOverride(tx, overrideId, why);
    await recordAudit(tx, {
      principalId: null,
      action: 'override.expire',
      entityKind: 'override',
      entityId: overrideId,
      detail: { checkId, phase, reason: why },
    });
  }
  const status = phase === 'grant' ? await applyOverrides(tx, ctx, null) : (await checkStatus(tx, checkId))!;
  return { checkStatus: status };
}
