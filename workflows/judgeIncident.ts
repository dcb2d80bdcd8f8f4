/**
 * judgeIncidentWorkflow: a judge found wrong, as a durable workflow.
 *   1. freeze judge_score (gates with a judged rule answer `frozen` meanwhile);
 *   2. find the release runs the judge scored; mark their judged results invalid;
 *   3. re-judge each run's stored candidate outputs with the replacement judge — one child
 *      workflow per run (rejudgeRunWorkflow), shards as heartbeating activities, judge
 *      calls under the run's incident budget (no model calls);
 *   4. replace the judged results (new rows, old ones superseded); a run that cannot be
 *      re-judged (budget, unreliable replacement, records gone) becomes invalid;
 *   5. re-decide every decision that used a replaced result or an invalidated run;
 *   6. unfreeze and record the impact report with what re-judging cost.
 * Idempotent step by step, like metricRecomputeWorkflow, whose steps it shares
 * (runRunByRunIncident in shared/incidentSteps.ts).
 */
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { RecomputeMetric } from '../activities/incidents/recompute';
import type { IncidentReport } from '../domain/incidents/report';
import { RUN_UNRECOVERABLE } from '../common/incidentFailures';
import { incidentRunWorkflowId, judgeIncidentWorkflowId } from '../common/names';
import { unwrapFailure } from './shared/failures';
import {
  inLanes,
  runRunByRunIncident,
  type IncidentActivities,
  type IncidentWorkflowInput,
  type RunRecomputeInput,
} from './shared/incidentSteps';
import { judgeIncidentStepOptions, rejudgeShardOptions } from './shared/options';

const steps = proxyActivities<IncidentActivities>(judgeIncidentStepOptions);

/** Child workflow: re-judge one run's stored outputs and replace its judged results. */
export async function rejudgeRunWorkflow(
  input: RunRecomputeInput,
): Promise<{ state: 'recomputed' | 'unchanged' | 'unrecoverable' }> {
  const plan = await steps.planRejudge({ incidentId: input.incidentId, runId: input.runId });
  if (!plan.metrics.length) return { state: 'unchanged' };
  const { rejudgeShard } = proxyActivities<IncidentActivities>(rejudgeShardOptions(input.heartbeatTimeoutMs));
  const metrics: RecomputeMetric[] = plan.metrics;
  try {
    await inLanes(plan.shards, input.shardParallelism, async (shardIndex) => {
      await rejudgeShard({ incidentId: input.incidentId, runId: input.runId, shardIndex, metrics });
    });
    await steps.finalizeRejudge({ incidentId: input.incidentId, runId: input.runId, metrics, shards: plan.shards });
  } catch (err) {
    const failure = unwrapFailure(err);
    if (!RUN_UNRECOVERABLE.includes(failure.type ?? '')) throw err;
    await steps.invalidateUnrejudgedRun({ incidentId: input.incidentId, runId: input.runId, reason: failure.message });
    return { state: 'unrecoverable' };
  }
  return { state: 'recomputed' };
}

export async function judgeIncidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentReport> {
  const { incidentId } = input;
  return runRunByRunIncident(input, {
    begin: () => steps.beginJudgeIncident({ incidentId }),
    collect: () => steps.collectJudgedRuns({ incidentId }),
    working: 'rejudging',
    child: (runId) =>
      executeChild(rejudgeRunWorkflow, {
        workflowId: incidentRunWorkflowId(judgeIncidentWorkflowId(incidentId), runId),
        args: [
          { incidentId, runId, shardParallelism: input.shardParallelism, heartbeatTimeoutMs: input.heartbeatTimeoutMs },
        ],
      }),
    end: () => steps.endJudgeIncident({ incidentId }),
    steps,
  });
}
