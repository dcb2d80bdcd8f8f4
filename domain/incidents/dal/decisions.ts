/** The gate decisions an incident re-decides: its incident_decisions records, and revocations. */
import type { Queryable } from '../../../common/db';
import type { LatestDecisionRow as DecisionRow } from '../../lineage/dal';

export type Outcome = 'revoked' | 'now_passing' | 'still_passing' | 'still_failing' | 'not_reevaluated';

/** Whether the incident already handled the check. */
export async function hasIncidentDecision(q: Queryable, incidentId: string, checkId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM incident_decisions WHERE incident_id = $1 AND check_id = $2', [
    incidentId,
    checkId,
  ]);
  return rows.length > 0;
}

/** Records what the incident did with a decision; false when an earlier attempt already did. */
export async function recordOutcome(
  q: Queryable,
  incidentId: string,
  decision: DecisionRow,
  outcome: Outcome,
  detail: unknown,
  newDecisionId: string | null = null,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO incident_decisions (incident_id, check_id, prior_decision_id, prior_status, outcome, new_decision_id, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, check_id) DO NOTHING`,
    [
      incidentId,
      decision.check_id,
      decision.decision_id,
      decision.status,
      outcome,
      newDecisionId,
      JSON.stringify(detail),
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** A new 'revoked' decision of the check caused by the incident; returns its id. */
export async function insertRevokedDecision(
  q: Queryable,
  incidentId: string,
  decision: DecisionRow,
  reasons: unknown[],
  resultIds: string[],
): Promise<string> {
  const { rows } = await q.query<{ decision_id: string }>(
    `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids, cause, incident_id)
     VALUES ($1, 'revoked', $2, $3::bigint[], $4::uuid[], 'incident', $5) RETURNING decision_id`,
    [decision.check_id, JSON.stringify(reasons), resultIds, decision.run_ids, incidentId],
  );
  return rows[0].decision_id;
}

export async function setNewDecision(
  q: Queryable,
  incidentId: string,
  checkId: string,
  decisionId: string,
): Promise<void> {
  await q.query('UPDATE incident_decisions SET new_decision_id = $3 WHERE incident_id = $1 AND check_id = $2', [
    incidentId,
    checkId,
    decisionId,
  ]);
}

/** Revokes the check if its status is still the one the incident re-decided. */
export async function revokeCheck(
  q: Queryable,
  checkId: string,
  reasons: unknown[],
  priorStatus: string,
): Promise<void> {
  await q.query(
    `UPDATE gate_checks SET status = 'revoked', reasons = $2, decided_at = now() WHERE check_id = $1 AND status = $3`,
    [checkId, JSON.stringify(reasons), priorStatus],
  );
}

export interface IncidentDecisionRow {
  check_id: string;
  outcome: string;
  new_decision_id: string | null;
  detail: any;
  gate_id: string;
  gate_name: string;
  reasons: unknown;
}

/** Every check the incident handled, with its gate and the decision it made (if any). */
export async function listIncidentDecisions(q: Queryable, incidentId: string): Promise<IncidentDecisionRow[]> {
  const { rows } = await q.query<IncidentDecisionRow>(
    `SELECT i.check_id, i.outcome, i.new_decision_id, i.detail, g.gate_id, g.name AS gate_name, d.reasons
       FROM incident_decisions i
       JOIN gate_checks c USING (check_id) JOIN gate_versions gv USING (gate_version_id) JOIN gates g ON g.gate_id = gv.gate_id
       LEFT JOIN gate_decisions d ON d.decision_id = i.new_decision_id
      WHERE i.incident_id = $1 ORDER BY i.check_id`,
    [incidentId],
  );
  return rows;
}
