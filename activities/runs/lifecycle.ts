import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { withTransaction } from '../../common/db';
import type { Storage } from '../../common/storage';
import { ensureRunBudget } from '../../domain/budgets';
import { loadRunJudge } from '../../domain/judge/config';
import { assertJudgeReliable, loadRunJudgeTotals, writeRunJudgeStats } from '../../domain/judge/runStats';
import { loadRunContext, type RunContext } from '../../domain/runs/context';
import * as runsDal from '../../domain/runs/dal';
import { runKeys } from '../../domain/runs/keys';
import { finalizeRunStates } from './metricsBridge';

export interface RunPlan {
  runId: string;
  totalRows: number;
  shards: { index: number; rowCount: number }[];
  /** Release-mode run of a suite whose judge has a drift canary: the workflow judges the canary too. */
  canary?: boolean;
}

export type RunEndStatus = 'failed' | 'cancelled' | 'budget_exceeded';

export interface LifecycleDeps {
  pool: Pool;
  storage: Storage;
}

export function createLifecycleActivities(deps: LifecycleDeps) {
  return {
    /** Marks the run running (first attempt only sets started_at) and returns its shards. */
    async planRun({ runId }: { runId: string }): Promise<RunPlan> {
      const ctx = await loadRunContext(deps.pool, runId);
      const totalRows = ctx.shards.reduce((n, s) => n + s.rowCount, 0);
      if (!ctx.shards.length)
        throw ApplicationFailure.create({
          type: 'dataset_unreadable',
          message: 'the dataset version has no shards',
          nonRetryable: true,
        });
      await ensureRunBudget(deps.pool, runId);
      const judge = ctx.taskType === 'generation' ? await loadRunJudge(deps.pool, runId) : null;
      await runsDal.markRunRunning(deps.pool, runId, totalRows);
      return {
        runId,
        totalRows,
        shards: ctx.shards.map((s) => ({ index: s.index, rowCount: s.rowCount })),
        canary: ctx.mode === 'release' && Boolean(judge?.canary),
      };
    },

    /**
     * Merges every shard's metric state, writes one result row per metric (idempotent on
     * run + metric + implementation version) and marks the run succeeded with its totals.
     */
    async finalizeRun({ runId }: { runId: string }): Promise<{ metrics: number }> {
      const ctx = await loadRunContext(deps.pool, runId);
      // Judge first: an unreliable judge fails the run before any result is written.
      const judge = ctx.taskType === 'generation' ? await loadRunJudge(deps.pool, runId) : null;
      const judgeTotals = judge ? await loadRunJudgeTotals(deps.pool, runId) : null;
      if (judge && judgeTotals) assertJudgeReliable(judge, judgeTotals);
      // Metric computation time (fetching and merging the shard states, finalising every metric) goes on the run.
      const computeStart = performance.now();
      const results = await finalizeRunStates(
        ctx,
        ctx.shards.map((s) => runKeys.shardState(runId, s.index)),
        (key) => deps.storage.getJson(key),
      );
      const metricsMs = performance.now() - computeStart;
      await withTransaction(deps.pool, async (client) => {
        await runsDal.insertMetricResults(client, runId, results, false);
        if (judge && judgeTotals) await writeRunJudgeStats(client, runId, judge, judgeTotals, false);
        await runsDal.markRunSucceeded(client, runId, metricsMs);
      });
      return { metrics: results.length };
    },

    /**
     * Ends a run that did not succeed; partial shard results stay where they are. A run
     * stopped by its budget also gets metric results from the shards that finished or
     * stopped cleanly, marked partial (a gate never counts a budget_exceeded run), and a
     * judged run gets its judge aggregates whatever the ending, so judge errors show.
     */
    async markRunEnded({
      runId,
      status,
      errorClass,
      errorMessage,
    }: {
      runId: string;
      status: RunEndStatus;
      errorClass?: string;
      errorMessage?: string;
    }): Promise<void> {
      const ctx = await loadRunContext(deps.pool, runId);
      const partial = status === 'budget_exceeded' ? await partialResults(deps, ctx) : [];
      const judge = ctx.taskType === 'generation' ? await loadRunJudge(deps.pool, runId) : null;
      await withTransaction(deps.pool, async (client) => {
        const ended = await runsDal.markRunEnded(
          client,
          runId,
          status,
          errorClass ?? null,
          errorMessage?.slice(0, 2000) ?? null,
        );
        if (ended) {
          await runsDal.insertMetricResults(client, runId, partial, true);
          if (judge) {
            const done = await runsDal.countDoneShards(client, runId);
            await writeRunJudgeStats(
              client,
              runId,
              judge,
              await loadRunJudgeTotals(client, runId),
              done < ctx.shards.length,
            );
          }
        }
      });
    },
  };
}

/** Metrics over the shards that wrote a state (finished, or stopped by the budget); none when no shard did. */
async function partialResults(deps: LifecycleDeps, ctx: RunContext): Promise<runsDal.NewMetricResult[]> {
  const shards = await runsDal.listStateShardIndexes(deps.pool, ctx.runId);
  if (!shards.length) return [];
  return finalizeRunStates(
    ctx,
    shards.map((index) => runKeys.shardState(ctx.runId, index)),
    (key) => deps.storage.getJson(key),
  );
}
