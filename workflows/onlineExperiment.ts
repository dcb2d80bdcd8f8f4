/**
 * onlineExperimentWorkflow: one online experiment of a candidate that passed its gate check.
 *
 * Starts the ramp, then every `checkEverySeconds` (a durable timer) runs one check of the
 * current step: the activity reads the step's two aggregate rows, decides with the always-valid
 * statistics and records the outcome (advance, promote, roll back, pause as inconclusive). The
 * workflow keeps the step's clock, so `minSeconds` counts workflow time and survives restarts.
 * Pause, resume, rollback and an early promotion on a granted override arrive as signals (from the API, or from an incident that revoked
 * the gate check); a query answers the state. A weeks-long experiment checks every minute for
 * weeks: every `checksPerRun` checks the workflow continues as new, carrying its state, so its
 * history stays bounded.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExperimentActivities } from '../activities/experiments';
import type { CheckResult } from '../domain/experiments/lifecycle';
import {
  EXPERIMENT_STATE_QUERY,
  PAUSE_EXPERIMENT_SIGNAL,
  PROMOTE_EXPERIMENT_SIGNAL,
  RESUME_EXPERIMENT_SIGNAL,
  ROLLBACK_EXPERIMENT_SIGNAL,
} from '../common/names';
import { experimentStepOptions } from './shared/options';

export interface ExperimentWorkflowState {
  status: CheckResult['status'];
  step: number;
  /** Workflow time (ms) when the current step started, or resumed. */
  stepStartedAt: number;
  checks: number;
  lastAction?: string;
}

export interface OnlineExperimentInput {
  experimentId: string;
  checkEverySeconds: number;
  /** Checks per workflow run before it continues as new (default 500). */
  checksPerRun?: number;
  /** Set by continue-as-new: the state the previous run ended with. */
  carried?: ExperimentWorkflowState;
}

export interface RollbackRequest {
  reason: string;
  message: string;
  principalId: string | null;
}

export const pauseExperimentSignal = defineSignal<[{ principalId: string | null }]>(PAUSE_EXPERIMENT_SIGNAL);
export const resumeExperimentSignal = defineSignal<[{ principalId: string | null }]>(RESUME_EXPERIMENT_SIGNAL);
export const rollbackExperimentSignal = defineSignal<[RollbackRequest]>(ROLLBACK_EXPERIMENT_SIGNAL);
export const promoteExperimentSignal = defineSignal<[{ overrideId: string }]>(PROMOTE_EXPERIMENT_SIGNAL);
export const experimentStateQuery = defineQuery<ExperimentWorkflowState>(EXPERIMENT_STATE_QUERY);

const steps = proxyActivities<ExperimentActivities>(experimentStepOptions);

type Command =
  | { kind: 'pause'; principalId: string | null }
  | { kind: 'resume'; principalId: string | null }
  | ({ kind: 'rollback' } & RollbackRequest)
  | { kind: 'promote'; overrideId: string };

const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);

/** The workflow's clock: inside the sandbox Date is the current workflow task's time, replayed identically. */
const workflowNow = (): number => new Date().getTime();

export async function onlineExperimentWorkflow(input: OnlineExperimentInput): Promise<ExperimentWorkflowState> {
  const { experimentId } = input;
  const commands: Command[] = [];
  const state: ExperimentWorkflowState = input.carried ?? { status: 'running', step: 0, stepStartedAt: 0, checks: 0 };
  setHandler(experimentStateQuery, () => state);
  setHandler(pauseExperimentSignal, ({ principalId }) => void commands.push({ kind: 'pause', principalId }));
  setHandler(resumeExperimentSignal, ({ principalId }) => void commands.push({ kind: 'resume', principalId }));
  setHandler(rollbackExperimentSignal, (request) => void commands.push({ kind: 'rollback', ...request }));
  // New in this version, with no patch needed: histories from before it never carry this signal.
  setHandler(promoteExperimentSignal, ({ overrideId }) => void commands.push({ kind: 'promote', overrideId }));

  const run = (command: Command): Promise<CheckResult> => {
    switch (command.kind) {
      case 'promote':
        return steps.promoteExperimentByOverride({ experimentId, overrideId: command.overrideId });
      case 'rollback':
        return steps.rollBackExperiment({
          experimentId,
          reason: command.reason,
          message: command.message,
          principalId: command.principalId,
        });
      default:
        return steps.pauseExperiment({
          experimentId,
          paused: command.kind === 'pause',
          principalId: command.principalId,
        });
    }
  };

  const follow = (result: CheckResult) => {
    if (result.step !== state.step || (state.status === 'paused' && result.status === 'running'))
      state.stepStartedAt = workflowNow();
    state.step = result.step;
    state.status = result.status;
    state.lastAction = result.action;
  };

  if (!input.carried) {
    await steps.startExperimentRamp({ experimentId });
    state.stepStartedAt = workflowNow();
  }
  let checksThisRun = 0;
  for (;;) {
    if (state.status === 'paused') await condition(() => commands.length > 0);
    else await condition(() => commands.length > 0, input.checkEverySeconds * 1000);
    while (commands.length) {
      const command = commands.shift()!;
      follow(await run(command));
      if (ENDED.has(state.status)) return state;
    }
    if (state.status === 'running') {
      follow(
        await steps.checkExperiment({
          experimentId,
          step: state.step,
          elapsedSeconds: (workflowNow() - state.stepStartedAt) / 1000,
        }),
      );
      state.checks += 1;
      checksThisRun += 1;
      if (ENDED.has(state.status)) return state;
    }
    if ((checksThisRun >= (input.checksPerRun ?? 500) || workflowInfo().continueAsNewSuggested) && !commands.length)
      await continueAsNew<typeof onlineExperimentWorkflow>({ ...input, carried: state });
  }
}
