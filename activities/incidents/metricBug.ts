/**
 * The steps of a metric-bug incident around the recompute itself: retract the bad
 * versions and freeze the metric, find the affected runs through lineage, plan each
 * run's recompute, and at the end unfreeze and record the impact report. Every step is
 * idempotent (ON CONFLICT, guarded UPDATEs, state read back from the rows), so a rerun
 * or a `temporal workflow reset` reaches the same state.
 */
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import { gatesWithRuleOnMetric, runsWithBadCurrentResults } from '../../domain/lineage/dal';
import { loadRunContext } from '../../domain/runs/context';
import { loadIncident, markIncidentRun, pendingRuns, setIncidentStep } from '../../domain/incidents/incidents';
import type { RecomputeMetric } from './recompute';
import { buildReport, type IncidentReport } from '../../domain/incidents/report';

export interface MetricBugDeps {
  pool: Pool;
  logger: Logger;
}

export function createMetricBugActivities(deps: MetricBugDeps) {
  const { pool } = deps;
  return {
    /**
     * Retracts the bad versions and freezes the metric: from now every gate with a rule on
     * it answers `frozen` until the incident ends. A rerun freezes again while it works.
     */
    async beginMetricIncident({
      incidentId,
    }: {
      incidentId: string;
    }): Promise<{ frozenGates: { gateId: string; name: string }[] }> {
      const incident = await loadIncident(pool, incidentId, 'metric_bug');
      const metric = incident.metric!;
      await pool.query(
        `INSERT INTO metric_impl_retractions (metric, impl_version, fixed_impl_version, incident_id)
         SELECT $1, v, $3, $4 FROM unnest($2::text[]) v ON CONFLICT DO NOTHING`,
        [metric, incident.bad_impl_versions, incident.fixed_impl_version, incidentId],
      );
      await pool.query(
        `INSERT INTO metric_freezes (metric, incident_id) VALUES ($1, $2)
         ON CONFLICT (metric, incident_id) DO UPDATE SET unfrozen_at = NULL`,
        [metric, incidentId],
      );
      const gates = await gatesWithRuleOnMetric(pool, metric);
      const frozenGates = gates.map((g) => ({ gateId: g.gate_id, name: g.name }));
      await setIncidentStep(pool, incidentId, 'freezing', { frozenGates });
      return { frozenGates };
    },

    /** Records every affected run as pending (ON CONFLICT keeps what an earlier attempt did). */
    async collectAffectedRuns({ incidentId }: { incidentId: string }): Promise<{ runs: number; inFlight: string[] }> {
      const incident = await loadIncident(pool, incidentId, 'metric_bug');
      await setIncidentStep(pool, incidentId, 'finding_runs');
      const { affected, inFlight } = await runsWithBadCurrentResults(
        pool,
        incident.metric!,
        incident.bad_impl_versions ?? [],
      );
      await pool.query(
        `INSERT INTO incident_runs (incident_id, run_id, prior_status)
         SELECT $1, r.run_id, r.status FROM eval_runs r WHERE r.run_id = ANY($2::uuid[]) ON CONFLICT DO NOTHING`,
        [incidentId, affected],
      );
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM incident_runs WHERE incident_id = $1',
        [incidentId],
      );
      await setIncidentStep(pool, incidentId, 'recomputing', { runsInFlight: inFlight });
      return { runs: rows[0].n, inFlight };
    },

    async pendingIncidentRuns(input: { incidentId: string; after: string | null; limit: number }): Promise<string[]> {
      return pendingRuns(pool, input.incidentId, input.after, input.limit);
    },

    /**
     * Which of the run's metrics to recompute (those on the incident's metric whose
     * current result used a bad version) with the fixed version, over which shards.
     * A run with nothing left to recompute is marked unchanged and gets no shards.
     */
    async planRunRecompute({
      incidentId,
      runId,
    }: {
      incidentId: string;
      runId: string;
    }): Promise<{ metrics: RecomputeMetric[]; shards: number[] }> {
      const incident = await loadIncident(pool, incidentId, 'metric_bug');
      const ctx = await loadRunContext(pool, runId);
      const { rows } = await pool.query<{ metric_name: string }>(
        `SELECT metric_name FROM metric_results WHERE run_id = $1 AND metric_id = $2 AND impl_version = ANY($3::text[]) AND superseded_at IS NULL`,
        [runId, incident.metric, incident.bad_impl_versions],
      );
      const names = new Set(rows.map((r) => r.metric_name));
      const metrics = ctx.metrics
        .filter((m) => names.has(m.name))
        .map((m) => ({
          name: m.name,
          metric: m.metric,
          params: m.params ?? {},
          ...(m.slices ? { slices: m.slices } : {}),
          implVersion: incident.fixed_impl_version!,
        }));
      if (!metrics.length) {
        // Already recomputed by an earlier attempt (or another incident): keep what is recorded.
        const { rows: done } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM metric_results WHERE run_id = $1 AND incident_id = $2`,
          [runId, incidentId],
        );
        if (!done[0].n)
          await markIncidentRun(
            pool,
            incidentId,
            runId,
            'unchanged',
            'no current result at a bad implementation version',
          );
        return { metrics: [], shards: [] };
      }
      return { metrics, shards: ctx.shards.map((s) => s.index) };
    },

    /** A run whose stored records are gone: its results cannot be checked, so decisions on them are revoked (fail closed). */
    async markRunUnrecoverable(input: { incidentId: string; runId: string; reason: string }): Promise<void> {
      await markIncidentRun(pool, input.incidentId, input.runId, 'unrecoverable', input.reason.slice(0, 2000));
    },

    /** Unfreezes the metric, records the impact report and resolves the incident. */
    async endMetricIncident({ incidentId }: { incidentId: string }): Promise<IncidentReport> {
      const incident = await loadIncident(pool, incidentId, 'metric_bug');
      await setIncidentStep(pool, incidentId, 'unfreezing');
      await pool.query('UPDATE metric_freezes SET unfrozen_at = now() WHERE incident_id = $1 AND unfrozen_at IS NULL', [
        incidentId,
      ]);
      const report = await buildReport(pool, incident);
      await pool.query('UPDATE metric_incidents SET report = $2 WHERE incident_id = $1', [
        incidentId,
        JSON.stringify(report),
      ]);
      await setIncidentStep(pool, incidentId, 'done');
      return report;
    },

    /** The workflow failed: the freeze stays (fail closed) until an operator reruns or resets it. */
    async failIncident(input: { incidentId: string; message: string }): Promise<void> {
      await setIncidentStep(pool, input.incidentId, 'failed', { error: input.message.slice(0, 2000) });
    },
  };
}
