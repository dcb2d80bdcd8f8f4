/**
 * retentionWorkflow: one retention sweep, started by the Temporal Schedule
 * `retentionScheduleId(prefix)` (workers/retentionSchedule.ts) every
 * EVALGATE_RETENTION_SWEEP_INTERVAL, or directly by an operator or a test. It deletes the
 * per-example outputs of runs past their retention (the runs keep a tombstone; results,
 * decisions and lineage stay), then expired prediction and judge cache entries, skipping
 * whatever a legal hold keeps, and records a report in the audit log.
 *
 * History stays bounded: each activity call deletes at most maxBatches batches and the
 * sweep makes at most maxCalls calls per kind; what is left waits for the next sweep.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RetentionActivities, SweepBatchResult } from '../activities/retention';
import type { SweepReport, SweepTotals } from '../domain/retention/sweep';
import { retentionStepOptions, retentionSweepOptions } from './shared/options';

const steps = proxyActivities<RetentionActivities>(retentionStepOptions);
const sweep = proxyActivities<RetentionActivities>(retentionSweepOptions);

export interface RetentionSweepInput {
  /** Runs claimed per statement; cache entries are deleted 100 times as many at once. */
  batchSize?: number;
  /** Batches per activity call. */
  maxBatches?: number;
  /** Activity calls per kind (runs, each cache) in one sweep. */
  maxCalls?: number;
}

const TOTAL_KEYS: (keyof SweepTotals)[] = [
  'runsExpired',
  'recordObjects',
  'transcriptObjects',
  'objectBytes',
  'predictionCacheEntries',
  'judgeCacheEntries',
  'cacheBytes',
];

export async function retentionWorkflow(input: RetentionSweepInput = {}): Promise<SweepReport> {
  const batchSize = input.batchSize ?? 50;
  const maxBatches = input.maxBatches ?? 20;
  const maxCalls = input.maxCalls ?? 50;
  const { startedAt } = await steps.beginRetentionSweep();
  const totals = Object.fromEntries(TOTAL_KEYS.map((k) => [k, 0])) as unknown as SweepTotals;
  const add = (result: SweepBatchResult) => {
    for (const key of TOTAL_KEYS) totals[key] += result[key];
  };
  let complete = true;
  const drain = async (call: () => Promise<SweepBatchResult>) => {
    for (let calls = 0; calls < maxCalls; calls++) {
      const result = await call();
      add(result);
      if (!result.more) return;
    }
    complete = false;
  };
  await drain(() => sweep.sweepExpiredRuns({ batchSize, maxBatches }));
  for (const table of ['prediction_cache', 'judge_cache'] as const)
    await drain(() => sweep.sweepExpiredCache({ table, batchSize: batchSize * 100, maxBatches }));
  return steps.recordRetentionSweep({ sweepId: workflowInfo().workflowId, startedAt, totals, complete });
}
