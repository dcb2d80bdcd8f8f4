/**
 * Data access of retention: legal holds (`legal_holds`), a run's retention state (eval_runs'
 * retention_seconds, expired_at, purged_at) and the sweep's deletes of expired cache entries.
 * Every delete here checks holds in the same statement (docs/decisions/retention.md).
 */
import type { Queryable } from '../../common/db';
import { DEFAULT_RETENTION } from '../../common/retention';

/** A run's end (or its last sign of life) plus its retention; runs created before retention_seconds get the default. */
const EXPIRES_AT = `coalesce(r.finished_at, r.started_at, r.created_at)
  + make_interval(secs => coalesce(r.retention_seconds, ($1::jsonb ->> dv.classification)::bigint))`;
const HELD = `EXISTS (SELECT 1 FROM legal_holds h WHERE h.dataset_version_id = r.dataset_version_id AND h.released_at IS NULL)`;
const ENDED = `r.status NOT IN ('queued', 'running')`;
const defaults = () => JSON.stringify(DEFAULT_RETENTION);

// ---- holds ----

export interface HoldRecord {
  hold_id: string;
  dataset_version_id: string;
  reason: string;
  placed_by: string;
  placed_at: Date;
  released_by: string | null;
  released_at: Date | null;
}

export async function insertHold(
  q: Queryable,
  hold: { datasetVersionId: string; reason: string; placedBy: string },
): Promise<HoldRecord> {
  const { rows } = await q.query<HoldRecord>(
    'INSERT INTO legal_holds (dataset_version_id, reason, placed_by) VALUES ($1, $2, $3) RETURNING *',
    [hold.datasetVersionId, hold.reason, hold.placedBy],
  );
  return rows[0];
}

/** A hold with what deciding who may release it needs: its dataset, owning team and version's visibility. */
export interface HoldWithDataset extends HoldRecord {
  dataset_id: string;
  owner_team: string;
  version: number;
  visibility: 'public' | 'internal' | 'restricted';
  allowed_teams: string[];
}

export async function findHold(q: Queryable, holdId: string, forUpdate = false): Promise<HoldWithDataset | undefined> {
  const { rows } = await q.query<HoldWithDataset>(
    `SELECT h.*, d.dataset_id, d.owner_team, dv.version, dv.visibility, dv.allowed_teams
       FROM legal_holds h
       JOIN dataset_versions dv USING (dataset_version_id)
       JOIN datasets d ON d.dataset_id = dv.dataset_id
      WHERE h.hold_id = $1${forUpdate ? ' FOR UPDATE OF h' : ''}`,
    [holdId],
  );
  return rows[0];
}

export async function releaseHold(q: Queryable, holdId: string, releasedBy: string): Promise<HoldRecord | undefined> {
  const { rows } = await q.query<HoldRecord>(
    `UPDATE legal_holds SET released_by = $2, released_at = now() WHERE hold_id = $1 AND released_at IS NULL RETURNING *`,
    [holdId, releasedBy],
  );
  return rows[0];
}

export async function listActiveHolds(q: Queryable, datasetVersionId: string): Promise<HoldRecord[]> {
  const { rows } = await q.query<HoldRecord>(
    'SELECT * FROM legal_holds WHERE dataset_version_id = $1 AND released_at IS NULL ORDER BY placed_at',
    [datasetVersionId],
  );
  return rows;
}

// ---- a run's retention ----

export interface RunRetentionRow {
  /** Null while the run is queued or running: its outputs start expiring when it ends. */
  expires_at: Date | null;
  /** The tombstone: set when a sweep started deleting the run's outputs. */
  expired_at: Date | null;
  held: boolean;
  /** The expiry has passed (by the database's clock). */
  due: boolean;
}

export async function findRunRetention(q: Queryable, runId: string): Promise<RunRetentionRow | undefined> {
  const { rows } = await q.query<RunRetentionRow>(
    `SELECT CASE WHEN ${ENDED} THEN ${EXPIRES_AT} END AS expires_at, r.expired_at, ${HELD} AS held,
            coalesce(${ENDED} AND ${EXPIRES_AT} <= now(), false) AS due
       FROM eval_runs r JOIN dataset_versions dv USING (dataset_version_id)
      WHERE r.run_id = $2`,
    [defaults(), runId],
  );
  return rows[0];
}

// ---- the sweep ----

/**
 * Marks up to `limit` runs whose outputs are due for deletion with the tombstone and returns
 * them: ended runs past their expiry, and runs an earlier sweep marked but did not finish
 * purging. Runs of a held dataset version are left alone. SKIP LOCKED: two sweeps at once
 * split the work instead of waiting on each other.
 */
export async function claimExpiredRuns(q: Queryable, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ run_id: string }>(
    `WITH due AS (
       SELECT r.run_id FROM eval_runs r JOIN dataset_versions dv USING (dataset_version_id)
        WHERE r.purged_at IS NULL AND ${ENDED} AND NOT ${HELD}
          AND (r.expired_at IS NOT NULL OR ${EXPIRES_AT} <= now())
        ORDER BY r.finished_at NULLS FIRST, r.run_id
        LIMIT $2
        FOR UPDATE OF r SKIP LOCKED)
     UPDATE eval_runs e SET expired_at = coalesce(e.expired_at, now()) FROM due WHERE e.run_id = due.run_id
     RETURNING e.run_id`,
    [defaults(), limit],
  );
  return rows.map((r) => r.run_id).sort();
}

/** True when the run's dataset version is under an active hold (checked again right before its objects go). */
export async function isRunHeld(q: Queryable, runId: string): Promise<boolean> {
  const { rows } = await q.query<{ held: boolean }>(`SELECT ${HELD} AS held FROM eval_runs r WHERE r.run_id = $1`, [
    runId,
  ]);
  return rows[0]?.held ?? false;
}

export async function markRunPurged(q: Queryable, runId: string): Promise<void> {
  await q.query('UPDATE eval_runs SET purged_at = now() WHERE run_id = $1 AND purged_at IS NULL', [runId]);
}

/** Ended runs past their expiry that a hold keeps (for the sweep report). */
export async function countHeldExpiredRuns(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM eval_runs r JOIN dataset_versions dv USING (dataset_version_id)
      WHERE r.purged_at IS NULL AND ${ENDED} AND ${HELD} AND (r.expired_at IS NOT NULL OR ${EXPIRES_AT} <= now())`,
    [defaults()],
  );
  return rows[0].n;
}

export type CacheTable = 'prediction_cache' | 'judge_cache';

/**
 * Deletes up to `limit` expired entries of a cache that no active hold keeps (an entry is
 * kept while any dataset version that wrote it is held); returns how many and their size.
 */
export async function deleteExpiredCacheEntries(
  q: Queryable,
  table: CacheTable,
  limit: number,
): Promise<{ deleted: number; bytes: number }> {
  const { rows } = await q.query<{ deleted: number; bytes: string }>(
    `WITH doomed AS (
       SELECT c.cache_key FROM ${table} c
        WHERE c.expires_at <= now()
          AND NOT (c.dataset_version_ids && ARRAY(SELECT dataset_version_id FROM legal_holds WHERE released_at IS NULL))
        LIMIT $1
        FOR UPDATE SKIP LOCKED),
     gone AS (DELETE FROM ${table} c USING doomed WHERE c.cache_key = doomed.cache_key RETURNING pg_column_size(c.*) AS size)
     SELECT count(*)::int AS deleted, coalesce(sum(size), 0)::bigint AS bytes FROM gone`,
    [limit],
  );
  return { deleted: rows[0].deleted, bytes: Number(rows[0].bytes) };
}
