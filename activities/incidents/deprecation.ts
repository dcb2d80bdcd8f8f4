/**
 * A contaminated dataset version: the version is deprecated (new runs on it get 409
 * dataset_deprecated), every run on it becomes `invalid` with the reason, gate decisions
 * that relied on those runs are revoked, baselines built on it count as stale, and the
 * impact is reported. Idempotent like every incident step: incident_runs records which
 * runs this incident invalidated (and their status before), incident_decisions which
 * checks it re-decided.
 */
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import type { Logger } from '../../common/logger';
import { deprecateVersionForIncident, versionName, versionStatus } from '../../domain/datasets/dal';
import { recordOutcome } from '../../domain/incidents/dal/decisions';
import { saveIncidentReport, setIncidentStep } from '../../domain/incidents/dal/incidents';
import {
  incidentRunIds,
  invalidatedRunIds,
  invalidatedRunsSummary,
  invalidateRecordedRuns,
  recordRunsOnVersion,
} from '../../domain/incidents/dal/runs';
import { loadIncident } from '../../domain/incidents/incidents';
import { buildReport, type IncidentReport } from '../../domain/incidents/report';
import { revokeDecision } from '../../domain/incidents/revoke';
import { rollBackExperimentsOfCheck } from '../experiments/revocation';
import { latestDecisionsUsing } from '../../domain/lineage/dal';
import { gatesWithStaleBaselines } from '../../domain/lineage/staleness';

export interface DeprecationDeps {
  pool: Pool;
  logger: Logger;
}

/** Statuses of a decision that let a release through: these are revoked when their runs turn out invalid. */
const RELEASING = new Set(['pass', 'overridden']);

export function createDeprecationActivities(deps: DeprecationDeps) {
  const { pool } = deps;

  async function versionLabel(datasetVersionId: string) {
    const { name, version } = await versionName(pool, datasetVersionId);
    return `${name} v${version}`;
  }

  return {
    /**
     * Makes sure the version is deprecated (the API did it when the incident was declared;
     * a rerun must not undo a later reinstatement, which is its own incident).
     */
    async beginDeprecation({ incidentId }: { incidentId: string }): Promise<{ deprecated: boolean }> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'invalidating');
      await deprecateVersionForIncident(pool, incident);
      return { deprecated: (await versionStatus(pool, incident.dataset_version_id)) === 'deprecated' };
    },

    /**
     * Marks every run on the version invalid with the reason, recording each in
     * incident_runs first with its status before. Returns the workflow ids of runs that
     * were still queued or running, so the workflow can cancel them.
     */
    async invalidateRunsOnVersion({
      incidentId,
    }: {
      incidentId: string;
    }): Promise<{ invalidated: number; inFlightWorkflowIds: string[] }> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      const reason =
        `dataset ${await versionLabel(incident.dataset_version_id!)} was deprecated by incident ${incidentId}: ${incident.note}`.slice(
          0,
          2000,
        );
      await withTransaction(pool, async (client) => {
        await recordRunsOnVersion(client, incidentId, incident.dataset_version_id, reason);
        await invalidateRecordedRuns(client, incidentId, reason);
      });
      const summary = await invalidatedRunsSummary(pool, incidentId);
      return { invalidated: summary.n, inFlightWorkflowIds: summary.in_flight };
    },

    /** Revokes every releasing decision (pass, overridden) whose latest decision used one of the invalidated runs. */
    async revokeDecisionsOnInvalidRuns({ incidentId }: { incidentId: string }): Promise<{ revoked: number }> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'redeciding');
      const invalid = new Set(await invalidatedRunIds(pool, incidentId));
      const label = await versionLabel(incident.dataset_version_id!);
      let revoked = 0;
      for (const decision of await latestDecisionsUsing(pool, { runIds: [...invalid] })) {
        const used = decision.run_ids.filter((id) => invalid.has(id));
        const detail = { invalidRuns: used, datasetVersion: label };
        if (!RELEASING.has(decision.status)) {
          await recordOutcome(
            pool,
            incidentId,
            decision,
            decision.status === 'fail' ? 'still_failing' : 'not_reevaluated',
            detail,
          );
          continue;
        }
        const summary = `it relied on ${used.length === 1 ? 'run' : 'runs'} ${used.join(', ')} on ${label}, deprecated: ${incident.note}`;
        const reasons = used.map((runId) => ({
          code: 'run_invalid',
          verdict: 'error',
          runId,
          message: `run ${runId} on ${label} is invalid: the dataset version was deprecated (${incident.note})`,
        }));
        if (
          await revokeDecision(pool, {
            incidentId,
            kind: incident.kind,
            decision,
            summary,
            reasons,
            newResultIds: decision.result_ids,
            detail,
          })
        ) {
          revoked += 1;
          await rollBackExperimentsOfCheck(
            pool,
            decision.check_id,
            `incident ${incidentId} revoked gate check ${decision.check_id}: ${summary}`,
          );
        }
      }
      return { revoked };
    },

    /** Records the impact report (with the gates whose baseline is now stale) and resolves the incident. */
    async endDeprecation({ incidentId }: { incidentId: string }): Promise<IncidentReport> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'reporting');
      const staleBaselines = await gatesWithStaleBaselines(pool, await incidentRunIds(pool, incidentId));
      const report = await buildReport(pool, incident, { staleBaselines });
      await saveIncidentReport(pool, incidentId, report);
      await setIncidentStep(pool, incidentId, 'done');
      return report;
    },
  };
}
