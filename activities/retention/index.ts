/**
 * The retention sweep's activities (workflows/retention.ts): delete expired per-example
 * outputs run by run, and expired cache entries batch by batch, heartbeating as they go;
 * then record the sweep in the audit log. Each step is idempotent: a run is marked (the
 * tombstone) before its objects go and marked purged after, so a retried or later sweep
 * finishes what a dead one started. Every delete checks legal holds.
 */
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import type { Storage } from '../../common/storage';
import { recordAudit } from '../../domain/audit/dal';
import {
  claimExpiredRuns,
  countHeldExpiredRuns,
  deleteExpiredCacheEntries,
  isRunHeld,
  markRunPurged,
  type CacheTable,
} from '../../domain/retention/dal';
import { emptySweepTotals, perExampleObject, type SweepReport, type SweepTotals } from '../../domain/retention/sweep';
import { runKeys } from '../../domain/runs/keys';

export interface RetentionActivityDeps {
  pool: Pool;
  storage: Storage;
  logger: Logger;
}

export interface SweepBatchInput {
  /** Runs (or cache entries) per claim / delete statement. */
  batchSize: number;
  /** Statements per activity call before it reports back (bounds one attempt's work). */
  maxBatches: number;
}

export type SweepBatchResult = SweepTotals & { more: boolean };

const heartbeat = (details: unknown) => {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Called outside an activity (a test driving the function directly): nothing to report to.
  }
};

export function createRetentionActivities(deps: RetentionActivityDeps) {
  const { pool, storage } = deps;

  /** Deletes one claimed run's per-example objects, unless a hold arrived since the claim. */
  async function purgeRun(runId: string, totals: SweepTotals): Promise<void> {
    if (await isRunHeld(pool, runId)) return;
    const doomed = (await storage.listSized(runKeys.runPrefix(runId))).filter((o) => perExampleObject(o.key));
    await storage.remove(doomed.map((o) => o.key));
    for (const o of doomed) {
      if (perExampleObject(o.key) === 'transcript') totals.transcriptObjects += 1;
      else totals.recordObjects += 1;
      totals.objectBytes += o.size;
    }
    await markRunPurged(pool, runId);
    totals.runsExpired += 1;
  }

  return {
    async beginRetentionSweep(): Promise<{ startedAt: string }> {
      return { startedAt: new Date().toISOString() };
    },

    async sweepExpiredRuns(input: SweepBatchInput): Promise<SweepBatchResult> {
      const totals = emptySweepTotals();
      for (let batch = 0; batch < input.maxBatches; batch++) {
        const runIds = await claimExpiredRuns(pool, input.batchSize);
        for (const runId of runIds) {
          await purgeRun(runId, totals);
          heartbeat({ runsExpired: totals.runsExpired });
        }
        if (runIds.length < input.batchSize) return { ...totals, more: false };
      }
      return { ...totals, more: true };
    },

    async sweepExpiredCache(input: SweepBatchInput & { table: CacheTable }): Promise<SweepBatchResult> {
      const totals = emptySweepTotals();
      for (let batch = 0; batch < input.maxBatches; batch++) {
        const { deleted, bytes } = await deleteExpiredCacheEntries(pool, input.table, input.batchSize);
        if (input.table === 'prediction_cache') totals.predictionCacheEntries += deleted;
        else totals.judgeCacheEntries += deleted;
        totals.cacheBytes += bytes;
        heartbeat({ deleted: totals.predictionCacheEntries + totals.judgeCacheEntries });
        if (deleted < input.batchSize) return { ...totals, more: false };
      }
      return { ...totals, more: true };
    },

    async recordRetentionSweep(input: {
      sweepId: string;
      startedAt: string;
      totals: SweepTotals;
      complete: boolean;
    }): Promise<SweepReport> {
      const report: SweepReport = {
        sweepId: input.sweepId,
        startedAt: input.startedAt,
        durationMs: Math.max(0, Date.now() - Date.parse(input.startedAt)),
        runsHeld: await countHeldExpiredRuns(pool),
        complete: input.complete,
        ...input.totals,
      };
      await recordAudit(pool, {
        principalId: null,
        action: 'retention.sweep',
        entityKind: 'retention_sweep',
        entityId: input.sweepId,
        detail: { ...report },
      });
      deps.logger.info(report, 'retention sweep recorded');
      return report;
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
