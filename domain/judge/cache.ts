/**
 * The judge cache in PostgreSQL (`judge_cache`), and a micro-batching loader: judge calls
 * are pipelined behind each candidate's prediction, so lookups arrive one example at a
 * time; the loader gathers those that arrive within a couple of milliseconds into one
 * query instead of one round trip each.
 */
import type { Queryable } from '../../common/db';
import type { TokenUsage } from '../budgets/estimate';

export interface CachedJudgement {
  score: number;
  rawOutput: string;
  usage: TokenUsage | null;
}

export interface NewJudgement extends CachedJudgement {
  key: string;
  promptHash: string;
  paramsHash: string;
  outputHash: string;
  referenceHash: string;
  repeat: number;
}

export async function lookupJudgements(q: Queryable, keys: string[]): Promise<Map<string, CachedJudgement>> {
  const found = new Map<string, CachedJudgement>();
  if (!keys.length) return found;
  const { rows } = await q.query<{ cache_key: string; score: number; raw_output: string; usage: TokenUsage | null }>(
    `SELECT cache_key, score, raw_output, usage FROM judge_cache
      WHERE cache_key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > now())`,
    [keys],
  );
  for (const row of rows) found.set(row.cache_key, { score: row.score, rawOutput: row.raw_output, usage: row.usage });
  return found;
}

/** Inserts new judgements; an existing entry keeps the later expiry of the two. */
export async function storeJudgements(
  q: Queryable,
  judgeModelVersionId: string,
  expiresAt: Date,
  all: NewJudgement[],
): Promise<void> {
  // Two examples of one part can share a key (the same output for the same reference): one row each, or the upsert refuses.
  const entries = [...new Map(all.map((e) => [e.key, e])).values()];
  if (!entries.length) return;
  await q.query(
    `INSERT INTO judge_cache (cache_key, judge_model_version_id, prompt_hash, params_hash, output_hash, reference_hash, repeat_index, score, raw_output, usage, expires_at)
     SELECT k, $1, ph, pa, oh, rh, r, s, o, u, $2
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::float8[], $10::text[], $11::jsonb[]) AS x(k, ph, pa, oh, rh, r, s, o, u)
     ON CONFLICT (cache_key) DO UPDATE SET expires_at = GREATEST(judge_cache.expires_at, EXCLUDED.expires_at)`,
    [
      judgeModelVersionId,
      expiresAt,
      entries.map((e) => e.key),
      entries.map((e) => e.promptHash),
      entries.map((e) => e.paramsHash),
      entries.map((e) => e.outputHash),
      entries.map((e) => e.referenceHash),
      entries.map((e) => e.repeat),
      entries.map((e) => e.score),
      entries.map((e) => e.rawOutput),
      entries.map((e) => (e.usage ? JSON.stringify(e.usage) : null)),
    ],
  );
}

/** Collects single-key loads for up to `waitMs` (or `maxBatch` keys) and answers them with one batched fetch. */
export function createBatchLoader<V>(
  fetch: (keys: string[]) => Promise<Map<string, V>>,
  options: { maxBatch?: number; waitMs?: number } = {},
) {
  const maxBatch = options.maxBatch ?? 256;
  const waitMs = options.waitMs ?? 2;
  let pending: { key: string; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    fetch([...new Set(batch.map((p) => p.key))]).then(
      (found) => {
        for (const p of batch) p.resolve(found.get(p.key));
      },
      (err) => {
        for (const p of batch) p.reject(err);
      },
    );
  };

  return (key: string): Promise<V | undefined> =>
    new Promise((resolve, reject) => {
      pending.push({ key, resolve, reject });
      if (pending.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, waitMs);
    });
}
