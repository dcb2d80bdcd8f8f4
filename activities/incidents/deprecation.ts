/**
 * A contaminated dataset version: the version is deprecated (new runs on it get 409
 * dataset_deprecated), every run on it becomes `invalid` with the reason, gate decisions
 * that relied on those runs are revoked, baselines built on it count as stale, and the
 * impact is reported. Idempotent like every incident step: incident_runs records which
 * runs this incident invalidated (and their status before), incident_decisions which
 * checks it re-decided.
 */
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import { latestDecisionsUsing } from '../../domain/lineage/dal';
import { gatesWithStaleBaselines } from '../../domain/lineage/staleness';
import { loadIncident, setIncidentStep } from '../../domain/incidents/incidents';
import { recordOutcome, revokeDecision } from './redecide';
import { buildReport, type IncidentReport } from '../../domain/incidents/report';

export interface DeprecationDeps {
  pool: Pool;
  logger: Logger;
}

/** Statuses of a decision that let a release through: these are revoked when their runs turn out invalid. */
const RELEASING = new Set(['pass', 'overridden']);

export function createDeprecationActivities(deps: DeprecationDeps) {
  const { pool } = deps;

  async function versionLabel(datasetVersionId: string) {
    const { rows } = await pool.query<{ name: string; version: number }>(
      'SELECT d.name, dv.version FROM dataset_versions dv JOIN datasets d USING (dataset_id) WHERE dv.dataset_version_id = $1',
      [datasetVersionId],
    );
    return `${rows[0].name} v${rows[0].version}`;
  }

  return {
    /**
     * Makes sure the version is deprecated (the API did it when the incident was declared;
     * a rerun must not undo a later reinstatement, which is its own incident).
     */
    async beginDeprecation({ incidentId }: { incidentId: string }): Promise<{ deprecated: boolean }> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'invalidating');
      await pool.query(
        `UPDATE dataset_versions SET status = 'deprecated', deprecated_reason = $2, deprecated_at = COALESCE(deprecated_at, now()), deprecated_by = COALESCE(deprecated_by, $3)
          WHERE dataset_version_id = $1 AND status = 'active'
            AND NOT EXISTS (SELECT 1 FROM metric_incidents WHERE kind = 'dataset_reinstatement' AND dataset_version_id = $1 AND created_at > $4)`,
        [incident.dataset_version_id, incident.note, incident.created_by, incident.created_at],
      );
      const { rows } = await pool.query<{ status: string }>(
        'SELECT status FROM dataset_versions WHERE dataset_version_id = $1',
        [incident.dataset_version_id],
      );
      return { deprecated: rows[0].status === 'deprecated' };
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
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO incident_runs (incident_id, run_id, prior_status, state, detail)
           SELECT $1, run_id, status, 'invalidated', $3 FROM eval_runs WHERE dataset_version_id = $2 AND status <> 'invalid'
           ON CONFLICT DO NOTHING`,
          [incidentId, incident.dataset_version_id, reason],
        );
        await client.query(
          `UPDATE eval_runs SET status = 'invalid', invalid_reason = $2
            WHERE run_id IN (SELECT run_id FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated') AND status <> 'invalid'`,
          [incidentId, reason],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      const { rows } = await pool.query<{ n: number; in_flight: string[] }>(
        `SELECT count(*)::int AS n, COALESCE(array_agg(r.workflow_id) FILTER (WHERE i.prior_status IN ('queued', 'running')), '{}') AS in_flight
           FROM incident_runs i JOIN eval_runs r USING (run_id) WHERE i.incident_id = $1 AND i.state = 'invalidated'`,
        [incidentId],
      );
      return { invalidated: rows[0].n, inFlightWorkflowIds: rows[0].in_flight };
    },

    /** Revokes every releasing decision (pass, overridden) whose latest decision used one of the invalidated runs. */
    async revokeDecisionsOnInvalidRuns({ incidentId }: { incidentId: string }): Promise<{ revoked: number }> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'redeciding');
      const { rows } = await pool.query<{ run_id: string }>(
        `SELECT run_id FROM incident_runs WHERE incident_id = $1 AND state = 'invalidated'`,
        [incidentId],
      );
      const invalid = new Set(rows.map((r) => r.run_id));
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
        )
          revoked += 1;
      }
      return { revoked };
    },

    /** Records the impact report (with the gates whose baseline is now stale) and resolves the incident. */
    async endDeprecation({ incidentId }: { incidentId: string }): Promise<IncidentReport> {
      const incident = await loadIncident(pool, incidentId, 'dataset_contamination');
      await setIncidentStep(pool, incidentId, 'reporting');
      const { rows } = await pool.query<{ run_id: string }>(`SELECT run_id FROM incident_runs WHERE incident_id = $1`, [
        incidentId,
      ]);
      const staleBaselines = await gatesWithStaleBaselines(
        pool,
        rows.map((r) => r.run_id),
      );
      const report = await buildReport(pool, incident, { staleBaselines });
      await pool.query('UPDATE metric_incidents SET report = $2 WHERE incident_id = $1', [
        incidentId,
        JSON.stringify(report),
      ]);
      await setIncidentStep(pool, incidentId, 'done');
      return report;
    },
  };
}
