/**
 * The retention sweep's Temporal Schedule: one per deployment (task-queue prefix), started at
 * worker start. Idempotent: the first worker creates it, every later start (or a second
 * worker racing the first) updates it to the current interval and inputs, so changing
 * EVALGATE_RETENTION_SWEEP_INTERVAL takes effect at the next deploy. Overlap SKIP: a sweep
 * still running when the next is due makes the next one a no-op, not a second sweeper.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Config } from '../common/config';
import { retentionScheduleId, taskQueueFor, WORKFLOW_TYPES } from '../common/names';
import type { retentionWorkflow } from '../workflows/retention';

type RetentionConfig = Pick<
  Config,
  'EVALGATE_TASK_QUEUE_PREFIX' | 'EVALGATE_RETENTION_SWEEP_INTERVAL' | 'EVALGATE_RETENTION_SWEEP_BATCH'
>;

function scheduleBody(config: RetentionConfig) {
  const action: ScheduleOptionsStartWorkflowAction<typeof retentionWorkflow> = {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPES.retention,
    // Maintenance shares the exploratory queue: it must never take a slot a release gate waits for.
    taskQueue: taskQueueFor(config.EVALGATE_TASK_QUEUE_PREFIX, 'exploratory'),
    args: [{ batchSize: config.EVALGATE_RETENTION_SWEEP_BATCH }],
    workflowExecutionTimeout: '6 hours' as const,
  };
  return {
    spec: { intervals: [{ every: config.EVALGATE_RETENTION_SWEEP_INTERVAL * 1000 }] },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' as const },
  };
}

/** Creates the schedule, or updates it to this process's config; returns its id. */
export async function ensureRetentionSchedule(client: Client, config: RetentionConfig): Promise<string> {
  const scheduleId = retentionScheduleId(config.EVALGATE_TASK_QUEUE_PREFIX);
  const body = scheduleBody(config);
  try {
    await client.schedule.create({ scheduleId, ...body });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    // Keep whether an operator paused it, and why.
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...body,
      state: { paused: previous.state.paused, note: previous.state.note },
    }));
  }
  return scheduleId;
}
