/**
 * The gate workflow's side of governed overrides. The API authorises requests and
 * approvals before it signals; these activities, run by the workflow as the signals
 * arrive, verify every approval again against the records (approver role on the gate's
 * owning team, never the requester, one per principal), grant an override when enough
 * valid approvals are in, and expire requests and grants when their timers fire. Every
 * grant, refusal and expiry is written to the audit log in the same transaction.
 *
 * An override covers the failing rules it names (all failing rules when it names none).
 * The check becomes `overridden` only while the granted, unexpired overrides together
 * cover every failing blocking rule; when one expires and they no longer do, it is `fail`
 * again. Only `fail` checks take overrides: never `error` or `frozen`.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { recordAudit } from '../../common/audit';
import { withTransaction, type Queryable } from '../../common/db';
import {
  isApprover,
  latestRuleDecision,
  loadCheckContext,
  principalNames,
  recordDecision,
  type CheckContext,
  type GateReason,
  type OverrideReason,
} from '../../domain/gates/store';

interface OverrideRow {
  override_id: string;
  check_id: string;
  justification: string;
  rules: string[] | null;
  status: string;
  required_approvals: number;
  requested_by: string;
  requested_at: Date;
  request_expires_at: Date;
  granted_at: Date | null;
  expires_at: Date | null;
}

export interface OverrideDeps {
  pool: Pool;
}

async function lockOverride(tx: Queryable, overrideId: string): Promise<OverrideRow | undefined> {
  const { rows } = await tx.query<OverrideRow>('SELECT * FROM overrides WHERE override_id = $1 FOR UPDATE', [
    overrideId,
  ]);
  return rows[0];
}

const ttlSecondsOf = (ctx: CheckContext) => ctx.version.override_ttl_seconds ?? ctx.version.override_ttl_hours * 3600;

/**
 * Moves the check between `fail` and `overridden` to match the granted overrides. Returns
 * the check's status afterwards (a `revoked` or otherwise decided check is left alone).
 */
async function applyOverrides(tx: Queryable, ctx: CheckContext, decidedBy: string | null): Promise<string> {
  const {
    rows: [check],
  } = await tx.query<{ status: string }>('SELECT status FROM gate_checks WHERE check_id = $1 FOR UPDATE', [
    ctx.check.check_id,
  ]);
  if (check.status !== 'fail' && check.status !== 'overridden') return check.status;
  const ruleDecision = await latestRuleDecision(tx, ctx.check.check_id);
  const ruleReasons = ruleDecision.reasons.filter((r): r is Extract<GateReason, { code: 'rule' }> => r.code === 'rule');
  const failing = ruleReasons.filter((r) => r.verdict === 'fail').map((r) => r.rule);
  const { rows: granted } = await tx.query<OverrideRow>(
    `SELECT * FROM overrides WHERE check_id = $1 AND status = 'granted' ORDER BY granted_at`,
    [ctx.check.check_id],
  );
  const coversAll = granted.some((o) => !o.rules || o.rules.length === 0);
  const covered = new Set(granted.flatMap((o) => o.rules ?? []));
  const isCovered = (rule: string) => coversAll || covered.has(rule);
  const fullyCovered = failing.length > 0 && failing.every(isCovered);
  const base = { resultIds: ruleDecision.result_ids, runIds: ruleDecision.run_ids, decidedBy };

  if (check.status === 'fail' && fullyCovered) {
    const approvals = await tx.query<{ override_id: string; approver_id: string }>(
      'SELECT override_id, approver_id FROM override_approvals WHERE override_id = ANY($1::uuid[]) AND refused_reason IS NULL ORDER BY approved_at',
      [granted.map((o) => o.override_id)],
    );
    const names = await principalNames(tx, [
      ...granted.map((o) => o.requested_by),
      ...approvals.rows.map((a) => a.approver_id),
    ]);
    const reason: OverrideReason = {
      code: 'override',
      verdict: 'overridden',
      overrideIds: granted.map((o) => o.override_id),
      rules: failing,
      justification: granted.map((o) => o.justification),
      requestedBy: granted.map((o) => names.get(o.requested_by) ?? o.requested_by),
      approvedBy: [...new Set(approvals.rows.map((a) => names.get(a.approver_id) ?? a.approver_id))],
      message:
        `overridden: ${failing.join(', ')} failed and ${granted.length === 1 ? 'an override was' : 'overrides were'} granted — requested by ` +
        `${granted.map((o) => names.get(o.requested_by)).join(', ')} ("${granted.map((o) => o.justification).join('"; "')}"), approved by ` +
        `${[...new Set(approvals.rows.map((a) => names.get(a.approver_id)))].join(', ')}; valid until ${granted.map((o) => o.expires_at?.toISOString()).sort()[0]}`,
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
    if (decided)
      await tx.query(
        'UPDATE overrides SET granted_decision_id = $2 WHERE override_id = ANY($1::uuid[]) AND granted_decision_id IS NULL',
        [reason.overrideIds, decided.decisionId],
      );
    return 'overridden';
  }
  if (check.status === 'overridden' && !fullyCovered) {
    const reason: OverrideReason = {
      code: 'override',
      verdict: 'expired',
      overrideIds: [],
      rules: failing.filter((r) => !isCovered(r)),
      justification: [],
      requestedBy: [],
      approvedBy: [],
      message: `the override of ${failing.filter((r) => !isCovered(r)).join(', ')} expired; the check fails again until a new override is granted or a new check passes`,
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
  return check.status;
}

/**
 * The API signals inside the transaction that writes the request or approval, so the row
 * may not be visible for a moment when the signal arrives: retry a few times before
 * concluding it was rolled back.
 */
function notYetVisible(what: string): never | void {
  if (Context.current().info.attempt < 6)
    throw ApplicationFailure.create({ type: 'override_not_visible', message: `${what} is not visible yet` });
}

export function createOverrideActivities(deps: OverrideDeps) {
  const { pool } = deps;
  const context = async (checkId: string) => {
    const ctx = await loadCheckContext(pool, checkId);
    if (!ctx) throw new Error(`gate check ${checkId} does not exist`);
    return ctx;
  };

  return {
    /** A request the API recorded: still open? Answers how long until it expires unapproved. */
    async openOverride({
      overrideId,
    }: {
      checkId: string;
      overrideId: string;
    }): Promise<{ open: boolean; expiresInMs: number }> {
      const { rows } = await pool.query<{ status: string; ms: number }>(
        `SELECT status, GREATEST(0, extract(epoch FROM request_expires_at - now()) * 1000)::float8 AS ms FROM overrides WHERE override_id = $1`,
        [overrideId],
      );
      if (!rows[0]) notYetVisible(`override ${overrideId}`);
      return rows[0]?.status === 'requested'
        ? { open: true, expiresInMs: Math.ceil(rows[0].ms) }
        : { open: false, expiresInMs: 0 };
    },

    /** Re-verifies the override's approvals; grants it when enough valid ones are in. */
    async tallyOverrideApprovals({
      checkId,
      overrideId,
      approverId,
    }: {
      checkId: string;
      overrideId: string;
      approverId?: string;
    }): Promise<{ granted: boolean; ttlMs: number; checkStatus: string; approvals: number }> {
      const ctx = await context(checkId);
      if (approverId) {
        const seen = await pool.query('SELECT 1 FROM override_approvals WHERE override_id = $1 AND approver_id = $2', [
          overrideId,
          approverId,
        ]);
        if (!seen.rows.length) notYetVisible(`the approval of ${approverId}`);
      }
      return withTransaction(pool, async (tx) => {
        const o = await lockOverride(tx, overrideId);
        if (!o) throw new Error(`override ${overrideId} does not exist`);
        const { rows: approvals } = await tx.query<{ approver_id: string }>(
          'SELECT approver_id FROM override_approvals WHERE override_id = $1 AND refused_reason IS NULL ORDER BY approved_at',
          [overrideId],
        );
        let valid = 0;
        let lastApprover: string | null = null;
        for (const a of approvals) {
          const refused =
            a.approver_id === o.requested_by
              ? 'the requester cannot approve their own override'
              : !(await isApprover(tx, a.approver_id, ctx.gate.owner_team))
                ? `not an approver on team ${ctx.gate.owner_team}`
                : null;
          if (!refused) {
            valid += 1;
            lastApprover = a.approver_id;
            continue;
          }
          await tx.query(
            'UPDATE override_approvals SET refused_reason = $3 WHERE override_id = $1 AND approver_id = $2',
            [overrideId, a.approver_id, refused],
          );
          await recordAudit(tx, {
            principalId: a.approver_id,
            action: 'override.approval_refused',
            entityKind: 'override',
            entityId: overrideId,
            detail: { checkId, reason: refused, by: 'workflow' },
          });
        }
        const {
          rows: [status],
        } = await tx.query<{ status: string }>('SELECT status FROM gate_checks WHERE check_id = $1', [checkId]);
        if (o.status !== 'requested' || valid < o.required_approvals) {
          const ttlMs = o.status === 'granted' && o.expires_at ? Math.max(0, o.expires_at.getTime() - Date.now()) : 0;
          return { granted: o.status === 'granted', ttlMs, checkStatus: status.status, approvals: valid };
        }
        const ttlSeconds = ttlSecondsOf(ctx);
        await tx.query(
          `UPDATE overrides SET status = 'granted', granted_at = now(), expires_at = now() + make_interval(secs => $2) WHERE override_id = $1`,
          [overrideId, ttlSeconds],
        );
        await recordAudit(tx, {
          principalId: lastApprover,
          action: 'override.grant',
          entityKind: 'override',
          entityId: overrideId,
          detail: { checkId, approvals: valid, ttlSeconds },
        });
        const checkStatus = await applyOverrides(tx, ctx, lastApprover);
        return { granted: true, ttlMs: ttlSeconds * 1000, checkStatus, approvals: valid };
      });
    },

    /** Expires an unapproved request, or a granted override whose TTL ended (the check may fail again). */
    async expireOverride({
      checkId,
      overrideId,
      phase,
    }: {
      checkId: string;
      overrideId: string;
      phase: 'request' | 'grant';
    }): Promise<{ checkStatus: string }> {
      const ctx = await context(checkId);
      return withTransaction(pool, async (tx) => {
        const o = await lockOverride(tx, overrideId);
        const expected = phase === 'request' ? 'requested' : 'granted';
        if (o?.status === expected) {
          const why = phase === 'request' ? 'not approved before the request expired' : 'its TTL ended';
          await tx.query(`UPDATE overrides SET status = 'expired', ended_reason = $2 WHERE override_id = $1`, [
            overrideId,
            why,
          ]);
          await recordAudit(tx, {
            principalId: null,
            action: 'override.expire',
            entityKind: 'override',
            entityId: overrideId,
            detail: { checkId, phase, reason: why },
          });
        }
        const checkStatus =
          phase === 'grant'
            ? await applyOverrides(tx, ctx, null)
            : (await tx.query<{ status: string }>('SELECT status FROM gate_checks WHERE check_id = $1', [checkId]))
                .rows[0].status;
        return { checkStatus };
      });
    },
  };
}
