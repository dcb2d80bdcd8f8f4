/**
 * A micro-batching loader for the judge cache (dal.ts lookupJudgements): judge calls are
 * pipelined behind each candidate's prediction, so lookups arrive one example at a time;
 * the loader gathers those that arrive within a couple of milliseconds into one query
 * instead of one round trip each.
 */

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
