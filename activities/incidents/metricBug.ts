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
import {
  freezeMetric,
  retractImplVersions,
  saveIncidentReport,
  setIncidentStep,
  unfreezeMetrics,
} from '../../domain/incidents/dal/incidents';
import { countIncidentResults, currentResultsAtVersions } from '../../domain/incidents/dal/results';
import { addAffectedRuns, countIncidentRuns, markIncidentRun, pendingRuns } from '../../domain/incidents/dal/runs';
import { loadIncident } from '../../domain/incidents/incidents';
import { buildReport, type IncidentReport } from '../../domain/incidents/report';
import type { RecomputeMetric } from './recompute';

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
      await retractImplVersions(pool, incidentId, metric, incident.bad_impl_versions, incident.fixed_impl_version);
      await freezeMetric(pool, metric, incidentId);
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
      await addAffectedRuns(pool, incidentId, affected);
      const runs = await countIncidentRuns(pool, incidentId);
      await setIncidentStep(pool, incidentId, 'recomputing', { runsInFlight: inFlight });
      return { runs, inFlight };
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
      const names = new Set(await currentResultsAtVersions(pool, runId, incident.metric, incident.bad_impl_versions));
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
        if (!(await countIncidentResults(pool, runId, incidentId)))
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
      await unfreezeMetrics(pool, incidentId);
      const report = await buildReport(pool, incident);
      await saveIncidentReport(pool, incidentId, report);
      await setIncidentStep(pool, incidentId, 'done');
      return report;
    },

    /** The workflow failed: the freeze stays (fail closed) until an operator reruns or resets it. */
    async failIncident(input: { incidentId: string; message: string }): Promise<void> {
      await setIncidentStep(pool, input.incidentId, 'failed', { error: input.message.slice(0, 2000) });
    },
  };
}
