/**
 * judgeIncidentWorkflow: a judge found wrong, as a durable workflow.
 *   1. freeze judge_score (gates with a judged rule answer `frozen` meanwhile);
 *   2. find the release runs the judge scored; mark their judged results invalid;
 *   3. re-judge each run's stored candidate outputs with the replacement judge — one child
 *      workflow per run, shards as heartbeating activities, judge calls under the run's
 *      incident budget (no model calls);
 *   4. replace the judged results (new rows, old ones superseded); a run that cannot be
 *      re-judged (budget, unreliable replacement, records gone) becomes invalid;
 *   5. re-decide every decision that used a replaced result or an invalidated run;
 *   6. unfreeze and record the impact report with what re-judging cost.
 * Idempotent step by step, like metricRecomputeWorkflow, whose paging it shares.
 */
import { CancellationScope, continueAsNew, executeChild, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { createIncidentActivities } from '../activities/incidents';
import { INCIDENT_NON_RETRYABLE, RUN_UNRECOVERABLE } from '../common/incidentFailures';
import type { RecomputeMetric } from '../activities/incidents/recompute';
import type { IncidentReport } from '../activities/incidents/report';
import { incidentRunWorkflowId, judgeIncidentWorkflowId } from '../common/names';
import {
  failureMessage, failureType, incidentProgressQuery, inLanes, processPendingRuns,
  type IncidentProgress, type IncidentWorkflowInput, type RunRecomputeInput,
} from './metricRecompute';

type IncidentActivities = ReturnType<typeof createIncidentActivities>;

const stepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: [...INCIDENT_NON_RETRYABLE, ...RUN_UNRECOVERABLE] },
};
const steps = proxyActivities<IncidentActivities>(stepOptions);

function judgeActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<IncidentActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: RUN_UNRECOVERABLE },
  });
}

/** Child workflow: re-judge one run's stored outputs and replace its judged results. */
export async function rejudgeRunWorkflow(input: RunRecomputeInput): Promise<{ state: 'recomputed' | 'unchanged' | 'unrecoverable' }> {
  const plan = await steps.planRejudge({ incidentId: input.incidentId, runId: input.runId });
  if (!plan.metrics.length) return { state: 'unchanged' };
  const { rejudgeShard } = judgeActivities(input.heartbeatTimeoutMs);
  const metrics: RecomputeMetric[] = plan.metrics;
  try {
    await inLanes(plan.shards, input.shardParallelism, async (shardIndex) => {
      await rejudgeShard({ incidentId: input.incidentId, runId: input.runId, shardIndex, metrics });
    });
    await steps.finalizeRejudge({ incidentId: input.incidentId, runId: input.runId, metrics, shards: plan.shards });
  } catch (err) {
    if (!RUN_UNRECOVERABLE.includes(failureType(err) ?? '')) throw err;
    await steps.invalidateUnrejudgedRun({ incidentId: input.incidentId, runId: input.runId, reason: failureMessage(err) });
    return { state: 'unrecoverable' };
  }
  return { state: 'recomputed' };
}

export async function judgeIncidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentReport> {
  const progress: IncidentProgress = { step: 'freezing', runsTotal: input.resume?.runsTotal ?? 0, runsDone: input.resume?.runsDone ?? 0, decisionsRevoked: 0 };
  setHandler(incidentProgressQuery, () => progress);
  const { incidentId } = input;
  let cursor: string | null;
  try {
    if (!input.resume) {
      await steps.beginJudgeIncident({ incidentId });
      progress.step = 'finding_runs';
      progress.runsTotal = (await steps.collectJudgedRuns({ incidentId })).runs;
    }
    progress.step = 'rejudging';
    cursor = await processPendingRuns(input, progress, (runId) => executeChild(rejudgeRunWorkflow, {
      workflowId: incidentRunWorkflowId(judgeIncidentWorkflowId(incidentId), runId),
      args: [{ incidentId, runId, shardParallelism: input.shardParallelism, heartbeatTimeoutMs: input.heartbeatTimeoutMs }],
    }));
    if (cursor === null) {
      progress.step = 'redeciding';
      progress.decisionsRevoked = (await steps.redecideAfterRecompute({ incidentId })).revoked;
      progress.step = 'unfreezing';
      const report = await steps.endJudgeIncident({ incidentId });
      progress.step = 'done';
      return report;
    }
  } catch (err) {
    const message = isCancellation(err) ? 'the incident workflow was cancelled' : failureMessage(err);
    await CancellationScope.nonCancellable(() => steps.failIncident({ incidentId, message }));
    throw err;
  }
  return continueAsNew<typeof judgeIncidentWorkflow>({ ...input, resume: { after: cursor, runsDone: progress.runsDone, runsTotal: progress.runsTotal } });
}
