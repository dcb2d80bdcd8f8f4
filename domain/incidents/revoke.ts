/**
 * Revoking a gate decision an incident found it can no longer stand behind: the incident's
 * record of the check, a new decision row (cause 'incident'), the check's status and the
 * audit record, in one transaction. Used by re-deciding (redecide) and by dataset
 * deprecation alike.
 */
import type { Pool } from 'pg';
import { recordAudit } from '../audit/dal';
import { withTransaction } from '../../common/db';
import type { LatestDecisionRow as DecisionRow } from '../lineage/dal';
import { insertRevokedDecision, recordOutcome, revokeCheck, setNewDecision } from './dal/decisions';

/**
 * Revokes a decision in one transaction: the incident's record of it, a new decision row
 * (cause 'incident') whose first reason says which incident revoked it and why, and the
 * check's status. Returns false when another attempt already did.
 */
export async function revokeDecision(
  pool: Pool,
  input: {
    incidentId: string;
    kind: string;
    decision: DecisionRow;
    summary: string;
    reasons: unknown[];
    newResultIds: string[];
    detail: unknown;
  },
): Promise<boolean> {
  const { incidentId, decision } = input;
  const reasons = [
    {
      code: 'revoked',
      verdict: 'revoked',
      incidentId,
      message: `revoked by ${input.kind.replace(/_/g, ' ')} incident ${incidentId}: ${input.summary}`,
    },
    ...input.reasons,
  ];
  return withTransaction(pool, async (tx) => {
    if (!(await recordOutcome(tx, incidentId, decision, 'revoked', input.detail))) return false;
    const decisionId = await insertRevokedDecision(tx, incidentId, decision, reasons, input.newResultIds);
    await setNewDecision(tx, incidentId, decision.check_id, decisionId);
    await revokeCheck(tx, decision.check_id, reasons, decision.status);
    await recordAudit(tx, {
      principalId: null,
      action: 'gate_check.revoke',
      entityKind: 'gate_check',
      entityId: decision.check_id,
      detail: { incidentId, priorDecisionId: decision.decision_id, decisionId, summary: input.summary },
    });
    return true;
  });
}
