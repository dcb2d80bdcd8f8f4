/**
 * How a check is decided: every decision is a new gate_decisions row, the check row carries
 * the latest, and both are audited in the caller's transaction.
 */
import { recordAudit } from '../audit/dal';
import type { Queryable } from '../../common/db';
import { insertDecision, moveCheck, type CheckStatus } from './dal';
import type { GateReason } from './reasons';

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
 * Writes a decision and moves the check to it, in the caller's transaction. Returns null,
 * writing nothing, when the check is no longer in a state the decision applies to.
 */
export async function recordDecision(tx: Queryable, d: NewDecision): Promise<{ decisionId: string } | null> {
  if (!(await moveCheck(tx, d.checkId, { status: d.status, reasons: d.reasons }, d.from))) return null;
  const decisionId = await insertDecision(tx, {
    checkId: d.checkId,
    status: d.status,
    reasons: d.reasons,
    resultIds: [...new Set(d.resultIds)],
    runIds: [...new Set(d.runIds)],
    cause: d.cause,
    decidedBy: d.decidedBy ?? null,
  });
  await recordAudit(tx, {
    principalId: d.decidedBy ?? null,
    action: d.audit.action,
    entityKind: 'gate_check',
    entityId: d.checkId,
    detail: { status: d.status, decisionId, ...d.audit.detail },
  });
  return { decisionId };
}
