/**
 * metricRecomputeWorkflow: a metric-bug incident as a durable workflow.
 *   1. retract the bad versions and freeze the metric (gates with a rule on it answer `frozen`);
 *   2. find the affected runs through lineage;
 *   3. recompute each from its stored per-example records — one child workflow per run
 *      (recomputeRunWorkflow), a bounded number at a time, each running the run's shards
 *      as heartbeating activities with bounded parallelism (no model or judge calls);
 *   4. new results are new rows, the old ones superseded;
 *   5. re-decide every gate decision that used a replaced result;
 *   6. unfreeze and record the impact report.
 * Every activity is idempotent, so a rerun or `temporal workflow reset` reaches the same
 * state. The history stays bounded: runs are paged, and the workflow continues as new
 * after a few hundred of them (shared/incidentSteps.ts).
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { RecomputeMetric } from '../activities/incidents/recompute';
import type { IncidentReport } from '../domain/incidents/report';
import { RECORDS_UNAVAILABLE } from '../common/incidentFailures';
import { incidentRunWorkflowId, metricRecomputeWorkflowId } from '../common/names';
import { unwrapFailure } from './shared/failures';
import {
  inLanes,
  runRunByRunIncident,
  type IncidentActivities,
  type IncidentWorkflowInput,
  type RunRecomputeInput,
} from './shared/incidentSteps';
import { incidentStepOptions, recomputeShardOptions } from './shared/options';

const steps = proxyActivities<IncidentActivities>(incidentStepOptions);

/** Child workflow: recompute one run's affected metrics from its stored records. */
export async function recomputeRunWorkflow(
  input: RunRecomputeInput,
): Promise<{ state: 'recomputed' | 'unchanged' | 'unrecoverable' }> {
  const plan = await steps.planRunRecompute({ incidentId: input.incidentId, runId: input.runId });
  if (!plan.metrics.length) return { state: 'unchanged' };
  const { recomputeShard } = proxyActivities<IncidentActivities>(recomputeShardOptions(input.heartbeatTimeoutMs));
  const metrics: RecomputeMetric[] = plan.metrics;
  try {
    await inLanes(plan.shards, input.shardParallelism, async (shardIndex) => {
      await recomputeShard({ incidentId: input.incidentId, runId: input.runId, shardIndex, metrics });
    });
  } catch (err) {
    const failure = unwrapFailure(err);
    if (failure.type !== RECORDS_UNAVAILABLE) throw err;
    await steps.markRunUnrecoverable({ incidentId: input.incidentId, runId: input.runId, reason: failure.message });
    return { state: 'unrecoverable' };
  }
  await steps.finalizeRunRecompute({ incidentId: input.incidentId, runId: input.runId, metrics, shards: plan.shards });
  return { state: 'recomputed' };
}

export async function metricRecomputeWorkflow(input: IncidentWorkflowInput): Promise<IncidentReport> {
  const { incidentId } = input;
  return runRunByRunIncident(input, {
    begin: () => steps.beginMetricIncident({ incidentId }),
    collect: () => steps.collectAffectedRuns({ incidentId }),
    working: 'recomputing',
    child: (runId) =>
      executeChild(recomputeRunWorkflow, {
        // From the incident id, not workflowInfo(): the same ids on a rerun, a reset and a replay.
        workflowId: incidentRunWorkflowId(metricRecomputeWorkflowId(incidentId), runId),
        args: [
          { incidentId, runId, shardParallelism: input.shardParallelism, heartbeatTimeoutMs: input.heartbeatTimeoutMs },
        ],
      }),
    end: () => steps.endMetricIncident({ incidentId }),
    steps,
  });
}
