import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { Storage } from '../../common/storage';
import { loadRunContext } from './context';
import { runKeys } from './keys';
import { finalizeRunStates } from './metricsBridge';

export interface RunPlan {
  runId: string;
  totalRows: number;
  shards: { index: number; rowCount: number }[];
}

/** A run's totals are the sums of its shards' progress rows. */
const SHARD_TOTALS = `(SELECT COALESCE(SUM(rows_done), 0) AS rows, COALESCE(SUM(calls_model), 0) AS calls, COALESCE(SUM(cache_hits), 0) AS hits,
         COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1) s`;
const TOTALS_SET = 'progress_done = s.rows, calls_model = s.calls, cache_hits = s.hits, errors = s.errors, cost_model_usd = s.cost';

export type RunEndStatus = 'failed' | 'cancelled' | 'budget_exceeded';

export interface LifecycleDeps { pool: Pool; storage: Storage }

export function createLifecycleActivities(deps: LifecycleDeps) {
  return {
    /** Marks the run running (first attempt only sets started_at) and returns its shards. */
    async planRun({ runId }: { runId: string }): Promise<RunPlan> {
      const ctx = await loadRunContext(deps.pool, runId);
      const totalRows = ctx.shards.reduce((n, s) => n + s.rowCount, 0);
      if (!ctx.shards.length) throw ApplicationFailure.create({ type: 'dataset_unreadable', message: 'the dataset version has no shards', nonRetryable: true });
      await deps.pool.query(
        `UPDATE eval_runs SET status = 'running', progress_total = $2, started_at = COALESCE(started_at, now()),
                queue_ms = COALESCE(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::bigint)
          WHERE run_id = $1 AND status IN ('queued', 'running')`, [runId, totalRows]);
      return { runId, totalRows, shards: ctx.shards.map((s) => ({ index: s.index, rowCount: s.rowCount })) };
    },

    /**
     * Merges every shard's metric state, writes one result row per metric (idempotent on
     * run + metric + implementation version) and marks the run succeeded with its totals.
     */
    async finalizeRun({ runId }: { runId: string }): Promise<{ metrics: number }> {
      const ctx = await loadRunContext(deps.pool, runId);
      const states = await Promise.all(ctx.shards.map((s) => deps.storage.getJson<unknown>(runKeys.shardState(runId, s.index))));
      const results = finalizeRunStates(ctx, states);
      const client = await deps.pool.connect();
      try {
        await client.query('BEGIN');
        for (const r of results) {
          await client.query(
            `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, reason, slices)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, metric_name, impl_version) DO NOTHING`,
            [runId, r.name, r.metric, r.implVersion, r.value, r.ciLow, r.ciHigh, r.n, r.reason ?? null, JSON.stringify(r.slices ?? {})]);
        }
        await client.query(
          `UPDATE eval_runs r SET status = 'succeeded', finished_at = now(),
                  run_ms = (extract(epoch FROM now() - r.started_at) * 1000)::bigint,
                  ${TOTALS_SET} FROM ${SHARD_TOTALS}
            WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`, [runId]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
      return { metrics: results.length };
    },

    /** Ends a run that did not succeed; partial shard results stay where they are. */
    async markRunEnded({ runId, status, errorClass, errorMessage }: { runId: string; status: RunEndStatus; errorClass?: string; errorMessage?: string }): Promise<void> {
      await deps.pool.query(
        `UPDATE eval_runs r SET status = $2, error_class = $3, error_message = $4, finished_at = now(),
                run_ms = (extract(epoch FROM now() - COALESCE(r.started_at, r.created_at)) * 1000)::bigint,
                ${TOTALS_SET} FROM ${SHARD_TOTALS}
          WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`,
        [runId, status, errorClass ?? null, errorMessage?.slice(0, 2000) ?? null]);
    },
  };
}
