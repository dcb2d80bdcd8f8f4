/**
 * The step machinery the incident workflows share: their input and progress query, the
 * run-by-run sequence a metric-bug and a wrong-judge incident both take
 * (runRunByRunIncident), paging through the affected runs, and recording a failure on
 * the incident. Each incident workflow lives in its own file and calls these.
 */
import {
  CancellationScope,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createIncidentActivities } from '../../activities/incidents';
import type { IncidentReport } from '../../domain/incidents/report';
import { INCIDENT_PROGRESS_QUERY } from '../../common/names';
import { unwrapFailure } from './failures';
import { incidentStepOptions } from './options';

export type IncidentActivities = ReturnType<typeof createIncidentActivities>;

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

/** Input of the per-run child workflows (recomputeRunWorkflow, rejudgeRunWorkflow). */
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

const steps = proxyActivities<IncidentActivities>(incidentStepOptions);

/** Runs `work` over `items` with at most `parallelism` in flight. */
export async function inLanes<T>(items: T[], parallelism: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, items.length)) }, lane));
}

/**
 * Pages through the incident's pending runs and hands each to `child` with bounded
 * concurrency. Returns the cursor to continue from when this execution has done enough,
 * or null when every run is done.
 */
async function processPendingRuns(
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
  const message = isCancellation(err) ? 'the incident workflow was cancelled' : unwrapFailure(err).message;
  await CancellationScope.nonCancellable(() => steps.failIncident({ incidentId, message }));
}
