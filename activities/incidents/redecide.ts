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
import { setIncidentStep } from '../../domain/incidents/dal/incidents';
import { recomputedRuns } from '../../domain/incidents/dal/runs';
import { loadIncident } from '../../domain/incidents/incidents';
import { redecideOne } from '../../domain/incidents/redecide';
import { latestDecisionsUsing } from '../../domain/lineage/dal';
import { rollBackExperimentsOfCheck } from '../experiments/revocation';

export interface RedecideDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
}

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
        if (outcome === 'revoked') {
          tally.revoked += 1;
          await rollBackExperimentsOfCheck(
            pool,
            decision.check_id,
            `incident ${incidentId} revoked gate check ${decision.check_id}`,
          );
        }
        if (outcome === 'now_passing') tally.nowPassing += 1;
      }
      return tally;
    },
  };
}
