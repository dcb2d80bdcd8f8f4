/**
 * datasetDeprecationWorkflow: a contaminated dataset version as a durable workflow. The
 * API has already marked the version deprecated (new runs on it get 409), so this makes
 * sure of it, invalidates every run on it (cancelling those still running), revokes the
 * gate decisions that let a release through on those runs, and records the impact report
 * with the gates whose baseline is now stale. Every step is idempotent.
 */
import { getExternalWorkflowHandle, proxyActivities, setHandler } from '@temporalio/workflow';
import type { IncidentReport } from '../domain/incidents/report';
import { cancelEvalRunSignal } from './evalRun';
import {
  incidentProgressQuery,
  recordIncidentFailure,
  type IncidentActivities,
  type IncidentProgress,
  type IncidentWorkflowInput,
} from './shared/incidentSteps';
import { incidentStepOptions } from './shared/options';

const steps = proxyActivities<IncidentActivities>(incidentStepOptions);

/** Asks a run still in flight on the deprecated version to stop; one that already ended is fine. */
async function cancelRun(workflowId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(cancelEvalRunSignal);
  } catch {
    // The run finished (or never started) between the invalidation and the signal: nothing to stop.
  }
}

export async function datasetDeprecationWorkflow(input: IncidentWorkflowInput): Promise<IncidentReport> {
  const progress: IncidentProgress = { step: 'invalidating', runsTotal: 0, runsDone: 0, decisionsRevoked: 0 };
  setHandler(incidentProgressQuery, () => progress);
  const { incidentId } = input;
  try {
    await steps.beginDeprecation({ incidentId });
    const { invalidated, inFlightWorkflowIds } = await steps.invalidateRunsOnVersion({ incidentId });
    Object.assign(progress, { runsTotal: invalidated, runsDone: invalidated });
    await Promise.all(inFlightWorkflowIds.map(cancelRun));
    progress.step = 'redeciding';
    progress.decisionsRevoked = (await steps.revokeDecisionsOnInvalidRuns({ incidentId })).revoked;
    progress.step = 'reporting';
    const report = await steps.endDeprecation({ incidentId });
    progress.step = 'done';
    return report;
  } catch (err) {
    await recordIncidentFailure(steps, incidentId, err);
    throw err;
  }
}
