/**
 * Re-deciding the gate checks an incident touched. A pass that now fails (or can no
 * longer be verified) becomes `revoked`: a new gate_decisions row with cause 'incident'
 * and the old and new values in its reasons, and the check's status. A fail that now
 * passes is reported, never flipped. Each check is handled once per incident: the
 * incident_decisions row is the idempotency record, written in the same transaction.
 */
import type { Pool, PoolClient } from 'pg';
import { recordAudit } from '../../common/audit';
import { withTransaction } from '../../common/db';
import type { Logger } from '../../common/logger';
import { latestDecisionsUsing, type DecisionRow } from '../lineage/queries';
import { loadIncident, setIncidentStep } from './incidents';
import type { ResultChange } from './recompute';
import { redecide, type DecisionResult, type StoredRule } from './ruleCheck';

export interface RedecideDeps { pool: Pool; logger: Logger }

export type Outcome = 'revoked' | 'now_passing' | 'still_passing' | 'still_failing' | 'not_reevaluated';

/** Statuses a re-decision can act on; the rest (overridden, frozen, error, pending) are reported as they are. */
const REEVALUATED = new Set(['pass', 'fail']);

export function createRedecideActivities(deps: RedecideDeps) {
  const { pool } = deps;
  return {
    /** Re-decides every check whose latest decision used a result this incident replaced, or a run it could not recompute. */
    async redecideAfterRecompute({ incidentId }: { incidentId: string }): Promise<{ reevaluated: number; revoked: number; nowPassing: number }> {
      const incident = await loadIncident(pool, incidentId);
      await setIncidentStep(pool, incidentId, 'redeciding');
      const { rows } = await pool.query<{ run_id: string; state: string; detail: string | null; changes: ResultChange[] }>(
        `SELECT run_id, state, detail, changes FROM incident_runs WHERE incident_id = $1 AND state IN ('recomputed', 'unrecoverable')`, [incidentId]);
      const replaced = new Map<string, ResultChange>();
      for (const r of rows) for (const c of r.changes ?? []) replaced.set(c.oldResultId, c);
      const unrecoverable = new Map(rows.filter((r) => r.state === 'unrecoverable').map((r) => [r.run_id, r.detail]));
      const decisions = await latestDecisionsUsing(pool, { resultIds: [...replaced.keys()], runIds: [...unrecoverable.keys()] });
      const tally = { reevaluated: 0, revoked: 0, nowPassing: 0 };
      for (const decision of decisions) {
        const outcome = await redecideOne(pool, incident.incident_id, incident.kind, decision, replaced, unrecoverable);
        if (!outcome) continue;
        tally.reevaluated += 1;
        if (outcome === 'revoked') tally.revoked += 1;
        if (outcome === 'now_passing') tally.nowPassing += 1;
      }
      return tally;
    },
  };
}

/** Loads the results a decision used, with this incident's replacements applied and the candidate's runs marked. */
async function decisionResults(pool: Pool, decision: DecisionRow, replaced: Map<string, ResultChange>): Promise<DecisionResult[]> {
  const ids = decision.result_ids.map((id) => replaced.get(id)?.newResultId ?? id);
  const { rows } = await pool.query<Record<string, any>>(
    `SELECT mr.result_id::text, mr.run_id, mr.metric_name, mr.value, mr.slices, dv.dataset_id,
            (r.model_version_id = c.candidate_model_version_id) AS candidate
       FROM metric_results mr JOIN eval_runs r USING (run_id) JOIN dataset_versions dv ON dv.dataset_version_id = r.dataset_version_id
       JOIN gate_checks c ON c.check_id = $2
      WHERE mr.result_id = ANY($1::bigint[])`, [ids, decision.check_id]);
  const old = new Map<string, Record<string, any>>();
  const oldIds = decision.result_ids.filter((id) => replaced.has(id));
  if (oldIds.length) {
    const prior = await pool.query<Record<string, any>>('SELECT result_id::text, value, slices FROM metric_results WHERE result_id = ANY($1::bigint[])', [oldIds]);
    for (const p of prior.rows) old.set(replaced.get(p.result_id)!.newResultId, p);
  }
  return rows.map((r) => {
    const before = old.get(r.result_id);
    return {
      resultId: r.result_id, runId: r.run_id, metricName: r.metric_name, value: r.value, slices: r.slices ?? {}, candidate: r.candidate, datasetId: r.dataset_id,
      ...(before ? { replaced: { oldResultId: before.result_id, oldValue: before.value, oldSlices: before.slices ?? {} } } : {}),
    };
  });
}

async function redecideOne(pool: Pool, incidentId: string, kind: string, decision: DecisionRow, replaced: Map<string, ResultChange>, unrecoverable: Map<string, string | null>): Promise<Outcome | undefined> {
  const done = await pool.query('SELECT 1 FROM incident_decisions WHERE incident_id = $1 AND check_id = $2', [incidentId, decision.check_id]);
  if (done.rows.length) return undefined;
  if (!REEVALUATED.has(decision.status)) {
    await recordOutcome(pool, incidentId, decision, 'not_reevaluated', { status: decision.status });
    return 'not_reevaluated';
  }
  const results = await decisionResults(pool, decision, replaced);
  const lost = decision.run_ids.filter((id) => unrecoverable.has(id));
  const verdict = redecide((decision.rules as StoredRule[]) ?? [], results);
  const reasons = [
    ...lost.map((id) => `run ${id} could not be recomputed (${unrecoverable.get(id) ?? 'stored records unavailable'}); its results can no longer be trusted`),
    ...verdict.reasons,
  ];
  const status = lost.length ? 'unverifiable' : verdict.status;
  const detail = { reasons, verdicts: verdict.verdicts.filter((v) => v.changed).map((v) => ({ metric: v.rule.metric, kind: v.rule.kind, outcome: v.outcome, ...('newValue' in v ? { oldValue: v.oldValue, newValue: v.newValue } : {}) })) };
  if (decision.status === 'pass' && status !== 'pass') {
    const newResultIds = results.map((r) => r.resultId);
    return (await revokeDecision(pool, { incidentId, kind, decision, reasons, newResultIds, detail })) ? 'revoked' : undefined;
  }
  const outcome: Outcome = decision.status === 'pass' ? 'still_passing' : status === 'pass' ? 'now_passing' : 'still_failing';
  await recordOutcome(pool, incidentId, decision, outcome, detail);
  return outcome;
}

export async function recordOutcome(q: Pool | PoolClient, incidentId: string, decision: DecisionRow, outcome: Outcome, detail: unknown, newDecisionId: string | null = null): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO incident_decisions (incident_id, check_id, prior_decision_id, prior_status, outcome, new_decision_id, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, check_id) DO NOTHING`,
    [incidentId, decision.check_id, decision.decision_id, decision.status, outcome, newDecisionId, JSON.stringify(detail)]);
  return (rowCount ?? 0) > 0;
}

/**
 * Revokes a decision in one transaction: the incident's record of it, a new decision row
 * (cause 'incident') and the check's status. Returns false when another attempt already did.
 */
export async function revokeDecision(pool: Pool, input: {
  incidentId: string; kind: string; decision: DecisionRow; reasons: string[]; newResultIds: string[]; detail: unknown;
}): Promise<boolean> {
  const { incidentId, decision } = input;
  const reasons = [`revoked by ${input.kind.replace(/_/g, ' ')} incident ${incidentId}`, ...input.reasons];
  return withTransaction(pool, async (tx) => {
    if (!(await recordOutcome(tx, incidentId, decision, 'revoked', input.detail))) return false;
    const inserted = await tx.query<{ decision_id: string }>(
      `INSERT INTO gate_decisions (check_id, status, reasons, result_ids, run_ids, cause, incident_id)
       VALUES ($1, 'revoked', $2, $3::bigint[], $4::uuid[], 'incident', $5) RETURNING decision_id`,
      [decision.check_id, JSON.stringify(reasons), input.newResultIds, decision.run_ids, incidentId]);
    const decisionId = inserted.rows[0].decision_id;
    await tx.query('UPDATE incident_decisions SET new_decision_id = $3 WHERE incident_id = $1 AND check_id = $2', [incidentId, decision.check_id, decisionId]);
    await tx.query(
      `UPDATE gate_checks SET status = 'revoked', reasons = $2, decided_at = now() WHERE check_id = $1 AND status = $3`,
      [decision.check_id, JSON.stringify(reasons), decision.status]);
    await recordAudit(tx, {
      principalId: null, action: 'gate_check.revoke', entityKind: 'gate_check', entityId: decision.check_id,
      detail: { incidentId, priorDecisionId: decision.decision_id, decisionId, reasons },
    });
    return true;
  });
}
