/**
 * Re-deciding the gate checks an incident touched. A pass that now fails (or can no
 * longer be verified) becomes `revoked`: a new gate_decisions row with cause 'incident'
 * and the old and new values in its reasons, and the check's status. A fail that now
 * passes is reported, never flipped. Each check is handled once per incident: the
 * incident_decisions row is the idempotency record, written in the same transaction.
 */
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import type { Storage } from '../../common/storage';
import { hasIncidentDecision, recordOutcome, type Outcome } from '../../domain/incidents/dal/decisions';
import { setIncidentStep } from '../../domain/incidents/dal/incidents';
import { recomputedRuns } from '../../domain/incidents/dal/runs';
import { loadIncident } from '../../domain/incidents/incidents';
import { reevaluateCheck, withPreviousValues } from '../../domain/incidents/reevaluate';
import { revokeDecision } from '../../domain/incidents/revoke';
import { latestDecisionsUsing, type DecisionRow } from '../../domain/lineage/queries';

export interface RedecideDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
}

/** Statuses a re-decision can act on; the rest (overridden, frozen, error, pending) are reported as they are. */
const REEVALUATED = new Set(['pass', 'fail']);

export function createRedecideActivities(deps: RedecideDeps) {
  const { pool } = deps;
  return {
    /** Re-decides every check whose latest decision used a result this incident replaced, or a run it could not recompute. */
    async redecideAfterRecompute({
      incidentId,
    }: {
      incidentId: string;
    }): Promise<{ reevaluated: number; revoked: number; nowPassing: number }> {
      const incident = await loadIncident(pool, incidentId);
      await setIncidentStep(pool, incidentId, 'redeciding');
      const rows = await recomputedRuns(pool, incidentId);
      const replaced = rows.flatMap((r) => (r.changes ?? []).map((c) => c.oldResultId));
      const unrecoverable = new Map(rows.filter((r) => r.state === 'unrecoverable').map((r) => [r.run_id, r.detail]));
      const decisions = await latestDecisionsUsing(pool, { resultIds: replaced, runIds: [...unrecoverable.keys()] });
      const tally = { reevaluated: 0, revoked: 0, nowPassing: 0 };
      for (const decision of decisions) {
        const outcome = await redecideOne(deps, incident.incident_id, incident.kind, decision, unrecoverable);
        if (!outcome) continue;
        tally.reevaluated += 1;
        if (outcome === 'revoked') tally.revoked += 1;
        if (outcome === 'now_passing') tally.nowPassing += 1;
      }
      return tally;
    },
  };
}

async function redecideOne(
  deps: RedecideDeps,
  incidentId: string,
  kind: string,
  decision: DecisionRow,
  unrecoverable: Map<string, string | null>,
): Promise<Outcome | undefined> {
  const { pool } = deps;
  if (await hasIncidentDecision(pool, incidentId, decision.check_id)) return undefined;
  if (!REEVALUATED.has(decision.status)) {
    await recordOutcome(pool, incidentId, decision, 'not_reevaluated', { status: decision.status });
    return 'not_reevaluated';
  }
  const lost = decision.run_ids.filter((id) => unrecoverable.has(id));
  if (lost.length) {
    const reasons = lost.map((id) => ({
      code: 'run_unrecoverable',
      verdict: 'error',
      runId: id,
      message:
        `run ${id} could not be recomputed (${unrecoverable.get(id) ?? 'its stored records are unavailable'}); ` +
        'the results this decision used can no longer be trusted — check again',
    }));
    if (decision.status !== 'pass') {
      await recordOutcome(pool, incidentId, decision, 'still_failing', { reasons });
      return 'still_failing';
    }
    const summary = `results it used could not be recomputed from stored records (${lost.length} run${lost.length === 1 ? '' : 's'})`;
    return (await revokeDecision(pool, {
      incidentId,
      kind,
      decision,
      summary,
      reasons,
      newResultIds: decision.result_ids,
      detail: { reasons },
    }))
      ? 'revoked'
      : undefined;
  }
  const now = await reevaluateCheck(deps, decision.check_id);
  const reasons = withPreviousValues(now.reasons, (decision.reasons as unknown[]) ?? []);
  const changed = reasons.filter((r) => 'previous' in r && r.message.includes('[was ')).map((r) => r.message);
  const detail = { status: now.status, changed };
  if (decision.status === 'pass' && now.status !== 'pass') {
    const summary =
      now.status === 'fail'
        ? 'with the recomputed results the check no longer passes'
        : 'with the recomputed results the check can no longer be evaluated';
    return (await revokeDecision(pool, {
      incidentId,
      kind,
      decision,
      summary,
      reasons,
      newResultIds: now.resultIds,
      detail,
    }))
      ? 'revoked'
      : undefined;
  }
  const outcome: Outcome =
    decision.status === 'pass' ? 'still_passing' : now.status === 'pass' ? 'now_passing' : 'still_failing';
  await recordOutcome(pool, incidentId, decision, outcome, outcome === 'now_passing' ? { ...detail, reasons } : detail);
  return outcome;
}
