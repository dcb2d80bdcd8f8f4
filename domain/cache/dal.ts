/**
 * Data access of the prediction cache (`prediction_cache`): batched lookups and inserts.
 * Keys are built by predictionCache.ts.
 */
import type { Queryable } from '../../common/db';

export interface CachedPrediction {
  prediction: unknown;
  usage: { inputTokens: number; outputTokens: number } | null;
}

export async function lookupPredictions(q: Queryable, keys: string[]): Promise<Map<string, CachedPrediction>> {
  const found = new Map<string, CachedPrediction>();
  if (!keys.length) return found;
  const { rows } = await q.query<{ cache_key: string; prediction: unknown; usage: CachedPrediction['usage'] }>(
    `SELECT cache_key, prediction, usage FROM prediction_cache
      WHERE cache_key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now())`,
    [hexArrayLiteral(keys)],
  );
  for (const row of rows) found.set(row.cache_key, { prediction: row.prediction, usage: row.usage });
  return found;
}

export interface NewCacheEntry {
  key: string;
  inputHash: string;
  prediction: unknown;
  usage: unknown;
}

/**
 * Inserts new entries; an existing entry keeps the later expiry of the two and adds the
 * dataset version that wrote it (a legal hold on any of them keeps the entry). The entries
 * go as one JSON document: one native stringify here, one parse in PostgreSQL, instead of
 * the driver quoting and escaping every element of four arrays.
 */
export async function storePredictions(
  q: Queryable,
  modelVersionId: string,
  paramsHash: string,
  expiresAt: Date,
  entries: NewCacheEntry[],
  datasetVersionId?: string,
): Promise<void> {
  if (!entries.length) return;
  await q.query(
    `INSERT INTO prediction_cache (cache_key, model_version_id, input_hash, params_hash, prediction, usage, expires_at,
                                   dataset_version_ids)
     SELECT x.k, $1, x.h, $2, x.p, x.u, $3, $5::uuid[]
       FROM jsonb_to_recordset($4::jsonb) AS x(k text, h text, p jsonb, u jsonb)
     ON CONFLICT (cache_key) DO UPDATE SET expires_at = GREATEST(prediction_cache.expires_at, EXCLUDED.expires_at),
       dataset_version_ids = CASE WHEN EXCLUDED.dataset_version_ids <@ prediction_cache.dataset_version_ids
                                  THEN prediction_cache.dataset_version_ids
                                  ELSE prediction_cache.dataset_version_ids || EXCLUDED.dataset_version_ids END`,
    [
      modelVersionId,
      paramsHash,
      expiresAt,
      JSON.stringify(entries.map((e) => ({ k: e.key, h: e.inputHash, p: e.prediction, u: e.usage ?? null }))),
      datasetVersionId ? [datasetVersionId] : [],
    ],
  );
}

/** A PostgreSQL array literal of hex digests (nothing in them to quote or escape). */
function hexArrayLiteral(values: string[]): string {
  const joined = values.join(',');
  // One scan of the whole list; an empty element would show as ",," or at an end.
  if (!/^[0-9a-f]+(?:,[0-9a-f]+)*$/.test(joined)) {
    const bad = values.find((v) => !/^[0-9a-f]+$/.test(v));
    throw new TypeError(`not a hex digest: ${JSON.stringify(bad).slice(0, 80)}`);
  }
  return `{${joined}}`;
}
