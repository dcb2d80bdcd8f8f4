import type { Queryable } from '../../common/db';

export type { RunRecord } from './createRun';
export { findRunByIdempotencyKey } from './createRun';
import type { RunRecord } from './createRun';

export interface ResultRecord {
  result_id: string;
  metric_name: string;
  metric_id: string;
  impl_version: string;
  value: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: string;
  reason: string | null;
  slices: Record<string, unknown>;
  /** Computed from the part of a run that finished before its budget ran out. */
  partial?: boolean;
}

export async function findRun(q: Queryable, runId: string) {
  const { rows } = await q.query<RunRecord>('SELECT * FROM eval_runs WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function currentResults(q: Queryable, runId: string) {
  const { rows } = await q.query<ResultRecord>(
    'SELECT * FROM metric_results WHERE run_id = $1 AND superseded_at IS NULL ORDER BY metric_name',
    [runId],
  );
  return rows;
}

/** Live progress from the shards' checkpoints while the run is going. */
export async function shardProgress(q: Queryable, runId: string) {
  const { rows } = await q.query<{ done: string; calls: string; hits: string; errors: string; cost: number }>(
    `SELECT COALESCE(SUM(rows_done), 0) AS done, COALESCE(SUM(calls_model), 0) AS calls, COALESCE(SUM(cache_hits), 0) AS hits,
            COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(cost_usd), 0) AS cost FROM eval_run_shards WHERE run_id = $1`,
    [runId],
  );
  return rows[0];
}
