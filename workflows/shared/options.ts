/**
 * Activity options of every workflow, by name: how long each kind of activity may take
 * and how it is retried. Three retry policies underneath: bookkeeping steps back off to
 * 30 s, heartbeating shard work to a minute, and the gate's steps (which a CI job waits
 * on) retry sooner and give up earlier. Failure types that retrying cannot fix are listed
 * per group; they come from common/ so the activities throw the same strings.
 */
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import {
  BUDGET_EXCEEDED,
  INCIDENT_NON_RETRYABLE,
  JUDGE_UNRELIABLE,
  RECORDS_UNAVAILABLE,
  RUN_UNRECOVERABLE,
} from '../../common/incidentFailures';

/** Short bookkeeping steps (plan, finalize, record): a few minutes of retries. */
const stepRetry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 10,
};
/** Long heartbeating work over one shard: attempts up to a minute apart. */
const shardRetry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 10,
};
/** Gate steps: a CI job waits on the check, so retry soon and give up within a couple of minutes. */
const gateRetry: RetryPolicy = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  maximumAttempts: 8,
};

// evalRunWorkflow and its block children.

/** planRun, finalizeRun, markRunEnded. */
export const runStepOptions: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: stepRetry };

/** runShard: a shard's examples through the model (and judge), heartbeating its offset. */
export function runShardOptions(heartbeatTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      ...shardRetry,
      maximumAttempts: 20,
      nonRetryableErrorTypes: [
        'model_unavailable',
        'model_errors',
        'dataset_unreadable',
        BUDGET_EXCEEDED,
        JUDGE_UNRELIABLE,
      ],
    },
  };
}

/** judgeCanary: the suite's drift canary, judged beside the shards. */
export const canaryOptions: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { ...shardRetry, nonRetryableErrorTypes: [BUDGET_EXCEEDED, 'cancelled'] },
};

// Incident workflows (metric bug, wrong judge, dataset contamination) and their per-run children.

/** The incident's steps: freeze, collect, page, re-decide, report. */
export const incidentStepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { ...stepRetry, nonRetryableErrorTypes: INCIDENT_NON_RETRYABLE },
};

/** A judge incident's steps: as any incident's, and a run it cannot re-judge fails its step for good. */
export const judgeIncidentStepOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: { ...stepRetry, nonRetryableErrorTypes: [...INCIDENT_NON_RETRYABLE, ...RUN_UNRECOVERABLE] },
};

/** recomputeShard: one shard's metrics from its stored records (no model or judge calls). */
export function recomputeShardOptions(heartbeatTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...shardRetry, nonRetryableErrorTypes: [RECORDS_UNAVAILABLE] },
  };
}

/** rejudgeShard: one shard's stored outputs through the replacement judge. */
export function rejudgeShardOptions(heartbeatTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...shardRetry, nonRetryableErrorTypes: RUN_UNRECOVERABLE },
  };
}

// retentionWorkflow.

/** A sweep step: deletes a bounded number of batches, heartbeating after each run or batch. */
export const retentionSweepOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: shardRetry,
};

/** Begin and record a sweep. */
export const retentionStepOptions: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: stepRetry };

// releaseGateWorkflow.

/** prepareGateCheck as an activity (before the local-prepare patch): it may decide at once and stream a comparison. */
export const gatePrepareOptions: ActivityOptions = { startToCloseTimeout: '30 minutes', retry: gateRetry };

/** prepareGateCheck as a local activity: inside the workflow task, deciding inline only small comparisons. */
export const gateLocalPrepareOptions: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  localRetryThreshold: '10 seconds',
  retry: { ...gateRetry, initialInterval: '200ms', maximumInterval: '10s' },
};

/** Short gate steps: record an error, open, tally and expire overrides. */
export const gateStepOptions: ActivityOptions = { startToCloseTimeout: '2 minutes', retry: gateRetry };

/** decideGateCheck streams both runs' records for the paired comparison: allow it time. */
export const gateDecideOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  retry: { ...stepRetry, maximumAttempts: 5 },
};

// onlineExperimentWorkflow.

/**
 * A check or state change of an online experiment: short, and retried without a limit (an
 * experiment runs for weeks; a database outage must delay its checks, not end it).
 */
export const experimentStepOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: stepRetry.initialInterval,
    backoffCoefficient: stepRetry.backoffCoefficient,
    maximumInterval: stepRetry.maximumInterval,
    nonRetryableErrorTypes: ['not_found'],
  },
};
