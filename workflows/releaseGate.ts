/**
 * releaseGateWorkflow: one gate check of one candidate model version.
 *
 * 1. prepare: pin the suite and dataset versions, resolve the baseline alias, find or record
 *    the release-mode runs (a frozen metric or an impossible check decides right here, and
 *    so does a check whose runs all exist already);
 * 2. start the missing runs as child evalRunWorkflows on the release task queue (cached
 *    predictions make a rerun of a known model cheap) and wait for them;
 * 3. decide: verify the runs, compare, evaluate every rule, record the decision.
 * All of it under the check timeout: a check that runs out of time decides `error`.
 *
 * A `fail` stays open for the override window: override requests and approvals arrive as
 * signals (authorised by the API first, re-verified by the activities), timers expire
 * unapproved requests and granted overrides. The history holds a few events per run and
 * per override signal, never per example.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { GateActivities } from '../activities/gates';
import type { RunFailure } from '../activities/gates/decide';
import { GATE_CHECK_STATE_QUERY, OVERRIDE_APPROVED_SIGNAL, OVERRIDE_REQUESTED_SIGNAL } from '../common/names';
import { evalRunWorkflow, type EvalRunInput } from './evalRun';
import { unwrapFailure } from './shared/failures';
import { gateDecideOptions, gateLocalPrepareOptions, gatePrepareOptions, gateStepOptions } from './shared/options';

/** A check whose runs exist is prepared, and decided if small, by one local activity (releaseGateWorkflow-v0-* predate it). */
export const LOCAL_PREPARE_PATCH = 'gate-check-local-prepare';

export interface ReleaseGateInput {
  checkId: string;
  /** The check decides `error` (timeout) if it has not decided after this long. */
  checkTimeoutMs: number;
  /** How long a failed check stays open for override requests. */
  overrideWindowMs: number;
  /** Settings of the eval runs the check starts. */
  evalRun: Omit<EvalRunInput, 'runId'>;
}

export interface GateCheckState {
  phase: 'preparing' | 'running' | 'deciding' | 'decided' | 'open_for_overrides' | 'closed';
  status: string;
  runsStarted: number;
  overrides: Record<string, 'requested' | 'granted' | 'ended'>;
}

export const overrideRequestedSignal = defineSignal<[{ overrideId: string }]>(OVERRIDE_REQUESTED_SIGNAL);
export const overrideApprovedSignal =
  defineSignal<[{ overrideId: string; approverId: string }]>(OVERRIDE_APPROVED_SIGNAL);
export const gateCheckStateQuery = defineQuery<GateCheckState>(GATE_CHECK_STATE_QUERY);

const preparing = proxyActivities<GateActivities>(gatePrepareOptions);
/**
 * Preparing as a local activity: it runs inside the workflow task, so a check whose runs
 * exist is decided with no activity-queue hops at all — what a burst of CI checks needs.
 * It decides inline only when the comparison is small enough to stay short.
 */
const preparingLocally = proxyLocalActivities<GateActivities>(gateLocalPrepareOptions);
const INLINE_DECIDE_MAX_ROWS = 20_000;
const steps = proxyActivities<GateActivities>(gateStepOptions);
const deciding = proxyActivities<GateActivities>(gateDecideOptions);

type OverrideEvent =
  | { kind: 'requested'; overrideId: string }
  | { kind: 'approved'; overrideId: string; approverId: string }
  | { kind: 'request_expired'; overrideId: string }
  | { kind: 'grant_expired'; overrideId: string };

function failureOf(runId: string, err: unknown): RunFailure {
  const { type, message } = unwrapFailure(err);
  return { runId, errorClass: type ?? 'run_failed', message };
}

/** Steps 1–3. Returns the recorded decision. */
async function checkAndDecide(input: ReleaseGateInput, state: GateCheckState): Promise<{ status: string }> {
  const plan = patched(LOCAL_PREPARE_PATCH)
    ? await preparingLocally.prepareGateCheck({ checkId: input.checkId, decideInlineUpToRows: INLINE_DECIDE_MAX_ROWS })
    : await preparing.prepareGateCheck({ checkId: input.checkId });
  if (plan.decided) return plan.decided;
  state.phase = 'running';
  state.runsStarted = plan.toStart.length;
  const outcomes = await Promise.allSettled(
    plan.toStart.map((run) =>
      executeChild(evalRunWorkflow, {
        workflowId: run.workflowId,
        taskQueue: run.taskQueue,
        args: [{ runId: run.runId, ...input.evalRun }],
        // The run is worth finishing even if this check gives up: a later check reuses it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
      }),
    ),
  );
  const runFailures = outcomes.flatMap((o, i) =>
    o.status === 'rejected' ? [failureOf(plan.toStart[i].runId, o.reason)] : [],
  );
  state.phase = 'deciding';
  return deciding.decideGateCheck({ checkId: input.checkId, runFailures });
}

const TIMED_OUT = 'timed_out' as const;

export async function releaseGateWorkflow(input: ReleaseGateInput): Promise<{ status: string }> {
  const state: GateCheckState = { phase: 'preparing', status: 'pending', runsStarted: 0, overrides: {} };
  const events: OverrideEvent[] = [];
  setHandler(gateCheckStateQuery, () => state);
  setHandler(overrideRequestedSignal, ({ overrideId }) => void events.push({ kind: 'requested', overrideId }));
  setHandler(
    overrideApprovedSignal,
    ({ overrideId, approverId }) => void events.push({ kind: 'approved', overrideId, approverId }),
  );

  const work = new CancellationScope();
  const timer = new CancellationScope();
  let decision: { status: string };
  try {
    const timeout = timer
      .run(() => sleep(input.checkTimeoutMs))
      .then(
        () => TIMED_OUT,
        () => undefined,
      );
    const checking = work.run(() => checkAndDecide(input, state));
    const outcome = await Promise.race([checking, timeout]);
    if (outcome === undefined) {
      // The timer was cancelled from outside (the workflow itself is being cancelled): the check's own outcome says how.
      decision = await checking;
    } else if (outcome === TIMED_OUT) {
      work.cancel();
      decision = await steps.recordGateError({
        checkId: input.checkId,
        code: 'timeout',
        message:
          `the check did not decide within ${Math.round(input.checkTimeoutMs / 1000)} s (phase: ${state.phase}); ` +
          `its runs keep going and a new check reuses them`,
      });
    } else {
      timer.cancel();
      decision = outcome as { status: string };
    }
  } catch (err) {
    timer.cancel();
    const cancelled = isCancellation(err);
    decision = await CancellationScope.nonCancellable(() =>
      steps.recordGateError({
        checkId: input.checkId,
        code: cancelled ? 'cancelled' : 'internal',
        message: cancelled
          ? 'the check was cancelled before it decided'
          : `the check failed before it decided: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
    if (cancelled) throw err;
  }
  state.status = decision.status;
  state.phase = 'decided';
  if (decision.status === 'fail') await openForOverrides(input, state, events);
  state.phase = 'closed';
  return { status: state.status };
}

/** Handles override requests, approvals and expiries until the window ends and nothing is outstanding. */
async function openForOverrides(
  input: ReleaseGateInput,
  state: GateCheckState,
  events: OverrideEvent[],
): Promise<void> {
  state.phase = 'open_for_overrides';
  let windowOpen = true;
  void sleep(input.overrideWindowMs).then(() => {
    windowOpen = false;
  });
  const after = (ms: number, event: OverrideEvent) => void sleep(ms).then(() => events.push(event));
  const outstanding = () => Object.values(state.overrides).some((s) => s !== 'ended');
  for (;;) {
    await condition(() => events.length > 0 || (!windowOpen && !outstanding()));
    const event = events.shift();
    if (!event) return;
    const { overrideId } = event;
    const known = state.overrides[overrideId];
    switch (event.kind) {
      case 'requested': {
        if (known) break;
        const opened = await steps.openOverride({ checkId: input.checkId, overrideId });
        state.overrides[overrideId] = opened.open ? 'requested' : 'ended';
        if (opened.open) after(opened.expiresInMs, { kind: 'request_expired', overrideId });
        break;
      }
      case 'approved': {
        if (known !== 'requested' && known !== 'granted') break;
        const tally = await steps.tallyOverrideApprovals({
          checkId: input.checkId,
          overrideId,
          approverId: event.approverId,
        });
        state.status = tally.checkStatus;
        if (tally.granted && known === 'requested') {
          state.overrides[overrideId] = 'granted';
          after(tally.ttlMs, { kind: 'grant_expired', overrideId });
        }
        break;
      }
      case 'request_expired':
      case 'grant_expired': {
        const phase = event.kind === 'request_expired' ? 'request' : 'grant';
        if (known !== (phase === 'request' ? 'requested' : 'granted')) break;
        const expired = await steps.expireOverride({ checkId: input.checkId, overrideId, phase });
        state.status = expired.checkStatus;
        state.overrides[overrideId] = 'ended';
        break;
      }
    }
  }
}
