/**
 * A run's retention as readers see it: `retention: { expiresAt, expired, held }` on the run,
 * and the 410 `expired` a per-example read (records, transcripts, changed examples) gets once
 * the outputs are past their expiry and no legal hold keeps them — whether or not a sweep has
 * deleted them yet, so what a reader gets does not depend on when the sweep ran.
 */
import type { Queryable } from '../../common/db';
import { gone } from '../errors';
import { findRunRetention, type RunRetentionRow } from './dal';

export interface RunRetention {
  /** When the run's per-example outputs expire; null while the run is still going. */
  expiresAt: string | null;
  /** Per-example outputs are gone (or due and about to go); aggregates, decisions and lineage stay. */
  expired: boolean;
  /** A legal hold on the run's dataset version keeps its outputs past their expiry. */
  held: boolean;
}

export function retentionView(row: RunRetentionRow): RunRetention {
  return {
    expiresAt: row.expires_at ? row.expires_at.toISOString() : null,
    // A tombstone is final (the objects may be gone) even if a hold came after it.
    expired: row.expired_at !== null || (row.due && !row.held),
    held: row.held,
  };
}

export async function runRetention(q: Queryable, runId: string): Promise<RunRetention | undefined> {
  const row = await findRunRetention(q, runId);
  return row && retentionView(row);
}

/** Throws 410 `expired` when the run's per-example outputs have expired. Call after the access check. */
export async function assertPerExampleReadable(q: Queryable, runId: string): Promise<void> {
  const retention = await runRetention(q, runId);
  if (retention?.expired)
    throw gone(
      'expired',
      `the per-example outputs of eval run ${runId} expired at ${retention.expiresAt} (retention of its dataset's ` +
        'classification); its results, decisions and lineage remain',
    );
}
