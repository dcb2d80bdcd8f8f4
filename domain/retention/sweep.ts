/**
 * What one retention sweep did, as the audit log records it (action `retention.sweep`).
 * Per-example records and judge transcripts are objects under a run's prefix; predictions
 * and judgements are rows of the two caches. Bytes are object sizes and row sizes.
 */
export interface SweepTotals {
  /** Runs whose per-example outputs this sweep deleted (they carry the tombstone). */
  runsExpired: number;
  /** Part objects of per-example records (a run's own and the ones incidents rewrote). */
  recordObjects: number;
  /** Judge transcript objects (shards, canary, incidents). */
  transcriptObjects: number;
  objectBytes: number;
  predictionCacheEntries: number;
  judgeCacheEntries: number;
  cacheBytes: number;
}

export interface SweepReport extends SweepTotals {
  sweepId: string;
  startedAt: string;
  durationMs: number;
  /** Runs past their expiry that legal holds kept. */
  runsHeld: number;
  /** False when the sweep stopped at its batch cap with more to delete (the next sweep continues). */
  complete: boolean;
}

export const emptySweepTotals = (): SweepTotals => ({
  runsExpired: 0,
  recordObjects: 0,
  transcriptObjects: 0,
  objectBytes: 0,
  predictionCacheEntries: 0,
  judgeCacheEntries: 0,
  cacheBytes: 0,
});

/**
 * The objects under a run's prefix a sweep deletes: every JSONL object, i.e. per-example
 * records (`part-*.jsonl`, incidents' `rejudged-part-*` and `original-part-*`) and judge
 * transcripts (`judge-part-*.jsonl`). Metric states (`state.json`) are aggregates and stay.
 */
export function perExampleObject(key: string): 'transcript' | 'records' | null {
  if (!key.endsWith('.jsonl')) return null;
  return /\/judge-part-\d+\.jsonl$/.test(key) ? 'transcript' : 'records';
}
