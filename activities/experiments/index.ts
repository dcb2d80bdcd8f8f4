/**
 * The online experiment workflow's activities: each one a state change of
 * domain/experiments/lifecycle.ts, guarded by the state it expects, so a retry changes nothing
 * twice. A missing experiment is a failure retrying cannot fix.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { DomainError } from '../../domain/errors';
import {
  checkStep,
  promoteByOverride,
  rollBack,
  setPaused,
  startRamp,
  type CheckResult,
} from '../../domain/experiments/lifecycle';

export interface ExperimentActivityDeps {
  pool: Pool;
}

async function nonRetryableOnDomainError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DomainError)
      throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
    throw err;
  }
}

export function createExperimentActivities({ pool }: ExperimentActivityDeps) {
  return {
    async startExperimentRamp({ experimentId }: { experimentId: string }): Promise<void> {
      await nonRetryableOnDomainError(() => startRamp(pool, experimentId));
    },
    async checkExperiment(input: { experimentId: string; step: number; elapsedSeconds: number }): Promise<CheckResult> {
      return nonRetryableOnDomainError(() => checkStep(pool, input));
    },
    async pauseExperiment(input: {
      experimentId: string;
      paused: boolean;
      principalId: string | null;
    }): Promise<CheckResult> {
      return nonRetryableOnDomainError(() => setPaused(pool, input.experimentId, input.paused, input.principalId));
    },
    async promoteExperimentByOverride(input: { experimentId: string; overrideId: string }): Promise<CheckResult> {
      return nonRetryableOnDomainError(() => promoteByOverride(pool, input.experimentId, input.overrideId));
    },
    async rollBackExperiment(input: {
      experimentId: string;
      reason: string;
      message: string;
      principalId: string | null;
    }): Promise<CheckResult> {
      return nonRetryableOnDomainError(() =>
        rollBack(pool, input.experimentId, input.reason, input.message, undefined, input.principalId),
      );
    },
  };
}

export type ExperimentActivities = ReturnType<typeof createExperimentActivities>;
