/**
 * metricRecomputeWorkflow: a metric-bug incident as a durable workflow.
 *   1. retract the bad versions and freeze the metric (gates with a rule on it answer `frozen`);
 *   2. find the affected runs through lineage;
 *   3. recompute each from its stored per-example records — one child workflow per run,
 *      a bounded number at a time, each running the run's shards as heartbeating
 *      activities with bounded parallelism (no model or judge calls);
 *   4. new results are new rows, the old ones superseded;
 *   5. re-decide every gate decision that used a replaced result;
 *   6. unfreeze and record the impact report.
 * Every activity is idempotent, so a rerun or `temporal workflow reset` reaches the same
 * state. The history stays bounded: runs are paged, and the workflow continues as new
 * after a few hundred of them.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { createIncidentActivities } from '../activities/incidents';
import { INCIDENT_NON_RETRYABLE, RECORDS_UNAVAILABLE } from '../common/incidentFailures';
import type { RecomputeMetric } from '../activities/incidents/recompute';
import type { IncidentReport } from '../activities/incidents/report';
import { INCIDENT_PROGRESS_QUERY, incidentRunWorkflowId, metricRecomputeWorkflowId } from '../common/names';

type IncidentActivities = ReturnType<typeof createIncidentActivities>;

export interface IncidentWorkflowInput {
  incidentId: string;
  /** Affected runs handled at once (child workflows in flight). */
  runParallelism: number;
  /** Shards of one run recomputed at once. */
  shardParallelism: number;
  heartbeatTimeoutMs: number;
  /** Set when continuing as new: the first steps are done, resume paging after this run id. */
  resume?: { after: string | null; runsDone: number; runsTotal: number };
}

export interface IncidentProgress {
  step: string;
  runsTotal: number;
  runsDone: number;
  decisionsRevoked: number;
}
export interface RunRecomputeInput {
  incidentId: string;
  runId: string;
  shardParallelism: number;
  heartbeatTimeoutMs: number;
}

export const incidentProgressQuery = defineQuery<IncidentProgress>(INCIDENT_PROGRESS_QUERY);

/** A page of affected runs per query; a new execution after this many runs keeps the history small. */
const RUN_PAGE = 50;
const RUNS_PER_EXECUTION = 500;

const stepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: INCIDENT_NON_RETRYABLE,
  },
};
const steps = proxyActivities<IncidentActivities>(stepOptions);

function shardActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<IncidentActivities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 10,
      nonRetryableErrorTypes: [RECORDS_UNAVAILABLE],
    },
  });
}

/** The ApplicationFailure type under activity/child wrappers, if any. */
export function failureType(err: unknown): string | undefined {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function failureMessage(err: unknown): string {
  let cause: unknown = err;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause)
    cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Runs `work` over `items` with at most `parallelism` in flight. */
export async function inLanes<T>(items: T[], parallelism: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, items.length)) }, lane));
}

/** Child workflow: recompute one run's affected metrics from its stored records. */
export async function recomputeRunWorkflow(
  input: RunRecomputeInput,
): Promise<{ state: 'recomputed' | 'unchanged' | 'unrecoverable' }> {
  const plan = await steps.planRunRecompute({ incidentId: input.incidentId, runId: input.runId });
  if (!plan.metrics.length) return { state: 'unchanged' };
  const { recomputeShard } = shardActivities(input.heartbeatTimeoutMs);
  const metrics: RecomputeMetric[] = plan.metrics;
  try {
    await inLanes(plan.shards, input.shardParallelism, async (shardIndex) => {
      await recomputeShard({ incidentId: input.incidentId, runId: input.runId, shardIndex, metrics });
    });
  } catch (err) {
    if (failureType(err) !== RECORDS_UNAVAILABLE) throw err;
    await steps.markRunUnrecoverable({ incidentId: input.incidentId, runId: input.runId, reason: failureMessage(err) });
    return { state: 'unrecoverable' };
  }
  await steps.finalizeRunRecompute({ incidentId: input.incidentId, runId: input.runId, metrics, shards: plan.shards });
  return { state: 'recomputed' };
}

/**
 * Pages through the incident's pending runs and hands each to `child` with bounded
 * concurrency. Returns the cursor to continue from when this execution has done enough,
 * or null when every run is done.
 */
export async function processPendingRuns(
  input: IncidentWorkflowInput,
  progress: IncidentProgress,
  child: (runId: string) => Promise<unknown>,
): Promise<string | null> {
  let after = input.resume?.after ?? null;
  let handled = 0;
  for (;;) {
    const page = await steps.pendingIncidentRuns({ incidentId: input.incidentId, after, limit: RUN_PAGE });
    if (!page.length) return null;
    await inLanes(page, input.runParallelism, async (runId) => {
      await child(runId);
      progress.runsDone += 1;
    });
    after = page[page.length - 1];
    handled += page.length;
    if (handled >= RUNS_PER_EXECUTION || workflowInfo().continueAsNewSuggested) return after;
  }
}

/** What distinguishes an incident that recomputes its affected runs one child workflow each (a metric bug, a wrong judge). */
export interface RunByRunIncident {
  /** Retract or replace, and freeze (idempotent). */
  begin(): Promise<unknown>;
  /** Record the affected runs; how many. */
  collect(): Promise<{ runs: number }>;
  /** The progress step while runs are handled. */
  working: string;
  /** Handle one run (a child workflow with an id derived from the incident and the run). */
  child(runId: string): Promise<unknown>;
  /** Unfreeze and write the impact report. */
  end(): Promise<IncidentReport>;
  /** The incident activities of the calling workflow (its retry options). */
  steps: Pick<IncidentActivities, 'redecideAfterRecompute' | 'failIncident'>;
}

/**
 * The steps every run-by-run incident workflow takes, in order: begin, collect, handle the
 * runs in pages (continuing as new after enough of them), re-decide, end. A failure or a
 * cancellation is recorded on the incident before the workflow fails.
 */
export async function runRunByRunIncident(
  input: IncidentWorkflowInput,
  incident: RunByRunIncident,
): Promise<IncidentReport> {
  const progress: IncidentProgress = {
    step: 'freezing',
    runsTotal: input.resume?.runsTotal ?? 0,
    runsDone: input.resume?.runsDone ?? 0,
    decisionsRevoked: 0,
  };
  setHandler(incidentProgressQuery, () => progress);
  const { incidentId } = input;
  let cursor: string | null;
  try {
    if (!input.resume) {
      await incident.begin();
      progress.step = 'finding_runs';
      progress.runsTotal = (await incident.collect()).runs;
    }
    progress.step = incident.working;
    cursor = await processPendingRuns(input, progress, incident.child);
    if (cursor === null) {
      progress.step = 'redeciding';
      progress.decisionsRevoked = (await incident.steps.redecideAfterRecompute({ incidentId })).revoked;
      progress.step = 'unfreezing';
      const report = await incident.end();
      progress.step = 'done';
      return report;
    }
  } catch (err) {
    await recordIncidentFailure(incident.steps, incidentId, err);
    throw err;
  }
  return continueAsNew<(input: IncidentWorkflowInput) => Promise<IncidentReport>>({
    ...input,
    resume: { after: cursor, runsDone: progress.runsDone, runsTotal: progress.runsTotal },
  });
}

/** Records why an incident workflow is failing on the incident, even when it is being cancelled. */
export async function recordIncidentFailure(
  steps: Pick<IncidentActivities, 'failIncident'>,
  incidentId: string,
  err: unknown,
): Promise<void> {
  const message = isCancellation(err) ? 'the incident workflow was cancelled' : failureMessage(err);
  await CancellationScope.nonCancellable(() => steps.failIncident({ incidentId, message }));
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
