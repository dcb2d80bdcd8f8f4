import { sha256Hex } from '../../common/canonical';
import type { Queryable } from '../../common/db';

/**
 * Predictions cached by (model version, input hash, inference params hash). The key is
 * versioned and holds no secrets; errors are never cached. An entry is shared across
 * runs and datasets, and expires with the retention of the dataset that wrote it.
 */
const KEY_VERSION = 'p1';

export const predictionCacheKey = (modelVersionId: string, inputHash: string, paramsHash: string) =>
  sha256Hex(`${KEY_VERSION}:${modelVersionId}:${inputHash}:${paramsHash}`);

export interface CachedPrediction { prediction: unknown; usage: { inputTokens: number; outputTokens: number } | null }

export async function lookupPredictions(q: Queryable, keys: string[]): Promise<Map<string, CachedPrediction>> {
  const found = new Map<string, CachedPrediction>();
  if (!keys.length) return found;
  const { rows } = await q.query<{ cache_key: string; prediction: unknown; usage: CachedPrediction['usage'] }>(
    `SELECT cache_key, prediction, usage FROM prediction_cache
      WHERE cache_key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now())`, [keys]);
  for (const row of rows) found.set(row.cache_key, { prediction: row.prediction, usage: row.usage });
  return found;
}

export interface NewCacheEntry { key: string; inputHash: string; prediction: unknown; usage: unknown }

/** Inserts new entries; an existing entry keeps the later expiry of the two. */
export async function storePredictions(q: Queryable, modelVersionId: string, paramsHash: string, expiresAt: Date, entries: NewCacheEntry[]): Promise<void> {
  if (!entries.length) return;
  await q.query(
    `INSERT INTO prediction_cache (cache_key, model_version_id, input_hash, params_hash, prediction, usage, expires_at)
     SELECT k, $1, h, $2, p, u, $3 FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::jsonb[]) AS x(k, h, p, u)
     ON CONFLICT (cache_key) DO UPDATE SET expires_at = GREATEST(prediction_cache.expires_at, EXCLUDED.expires_at)`,
    [modelVersionId, paramsHash, expiresAt, entries.map((e) => e.key), entries.map((e) => e.inputHash),
      entries.map((e) => JSON.stringify(e.prediction)), entries.map((e) => (e.usage === undefined ? null : JSON.stringify(e.usage)))]);
}
