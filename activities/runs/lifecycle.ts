import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { PoolClient } from 'pg';
import type { Storage } from '../../common/storage';
import { ensureRunBudget } from '../../domain/budgets';
import { loadRunJudge } from '../../domain/judge/config';
import { assertJudgeReliable, loadRunJudgeTotals, writeRunJudgeStats } from '../../domain/judge/runStats';
import { loadRunContext, type RunContext } from '../../domain/runs/context';
import { runKeys } from '../../domain/runs/keys';
import { finalizeRunStates, type FinalMetric } from './metricsBridge';

export interface RunPlan {
  runId: string;
  totalRows: number;
  shards: { index: number; rowCount: number }[];
  /** Release-mode run of a suite whose judge has a drift canary: the workflow judges the canary too. */
  canary?: boolean;
}

/** A run's totals are the sums of its shards' progress rows, plus its drift canary's judge calls. */
const SHARD_TOTALS = `(SELECT COALESCE(SUM(rows_done), 0) AS rows, COALESCE(SUM(calls_model), 0) AS calls, COALESCE(SUM(cache_hits), 0) AS hits,
         COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost,
         COALESCE(SUM(calls_judge), 0) AS judge_calls, COALESCE(SUM(judge_cost_usd), 0) AS judge_cost FROM eval_run_shards WHERE run_id = $1) s,
       (SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(cost_usd), 0) AS cost FROM judge_canary_results WHERE run_id = $1) c`;
const TOTALS_SET = `progress_done = s.rows, calls_model = s.calls, cache_hits = s.hits, errors = s.errors, cost_model_usd = s.cost,
                    calls_judge = s.judge_calls + c.calls, cost_judge_usd = s.judge_cost + c.cost`;

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
      await deps.pool.query(
        `UPDATE eval_runs SET status = 'running', progress_total = $2, started_at = COALESCE(started_at, now()),
                queue_ms = COALESCE(queue_ms, (extract(epoch FROM now() - created_at) * 1000)::bigint)
          WHERE run_id = $1 AND status IN ('queued', 'running')`,
        [runId, totalRows],
      );
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
      const results = await finalizeRunStates(
        ctx,
        ctx.shards.map((s) => runKeys.shardState(runId, s.index)),
        (key) => deps.storage.getJson(key),
      );
      const client = await deps.pool.connect();
      try {
        await client.query('BEGIN');
        await insertResults(client, runId, results, false);
        if (judge && judgeTotals) await writeRunJudgeStats(client, runId, judge, judgeTotals, false);
        await client.query(
          `UPDATE eval_runs r SET status = 'succeeded', finished_at = now(),
                  run_ms = (extract(epoch FROM now() - r.started_at) * 1000)::bigint,
                  ${TOTALS_SET} FROM ${SHARD_TOTALS}
            WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`,
          [runId],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
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
      const client = await deps.pool.connect();
      try {
        await client.query('BEGIN');
        const { rowCount } = await client.query(
          `UPDATE eval_runs r SET status = $2, error_class = $3, error_message = $4, finished_at = now(),
                  run_ms = (extract(epoch FROM now() - COALESCE(r.started_at, r.created_at)) * 1000)::bigint,
                  ${TOTALS_SET} FROM ${SHARD_TOTALS}
            WHERE r.run_id = $1 AND r.status IN ('queued', 'running')`,
          [runId, status, errorClass ?? null, errorMessage?.slice(0, 2000) ?? null],
        );
        if (rowCount) {
          await insertResults(client, runId, partial, true);
          if (judge) {
            const { rows } = await client.query<{ done: number }>(
              `SELECT count(*)::int AS done FROM eval_run_shards WHERE run_id = $1 AND status = 'done'`,
              [runId],
            );
            await writeRunJudgeStats(
              client,
              runId,
              judge,
              await loadRunJudgeTotals(client, runId),
              rows[0].done < ctx.shards.length,
            );
          }
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

async function insertResults(
  client: PoolClient,
  runId: string,
  results: FinalMetric[],
  partial: boolean,
): Promise<void> {
  for (const r of results) {
    await client.query(
      `INSERT INTO metric_results (run_id, metric_name, metric_id, impl_version, value, ci_low, ci_high, n, reason, slices, partial)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id, metric_name, impl_version) DO NOTHING`,
      [
        runId,
        r.name,
        r.metric,
        r.implVersion,
        r.value,
        r.ciLow,
        r.ciHigh,
        r.n,
        r.reason ?? null,
        JSON.stringify(r.slices ?? {}),
        partial,
      ],
    );
  }
}

/** Metrics over the shards that wrote a state (finished, or stopped by the budget); none when no shard did. */
async function partialResults(deps: LifecycleDeps, ctx: RunContext): Promise<FinalMetric[]> {
  const { rows } = await deps.pool.query<{ shard_index: number }>(
    `SELECT shard_index FROM eval_run_shards WHERE run_id = $1 AND status IN ('done', 'partial') ORDER BY shard_index`,
    [ctx.runId],
  );
  if (!rows.length) return [];
  return finalizeRunStates(
    ctx,
    rows.map((r) => runKeys.shardState(ctx.runId, r.shard_index)),
    (key) => deps.storage.getJson(key),
  );
}
