/**
 * Shared ranking/retrieval conventions.
 * - Input: `relevance` (graded, by document id) and `prediction.ranking` (document ids, best
 *   first). Examples lacking either are skipped; an empty ranking is a real (bad) answer.
 * - A document is relevant when its grade > 0; grades <= 0 have gain 0.
 * - A document repeated in the ranking counts only at its first position (repeats are
 *   treated as non-relevant, so they cannot inflate a score).
 * - A query with no relevant documents contributes 0 and is counted in n (for every
 *   ranking metric, so all of them average over the same queries).
 * - k larger than the ranking is allowed: missing positions simply gain nothing.
 */
import { z } from 'zod';
import type { MetricExample } from '../types';

export const kParams = z.object({ k: z.number().int().min(1).max(100000) }).strict();
export type KParams = z.infer<typeof kParams>;

export const noRankingParams = z.object({}).strict();

export interface Judged {
  /** Grade of each ranked position (0 for unjudged documents and repeats). */
  grades: number[];
  /** Number of relevant documents in the relevance map. */
  relevantTotal: number;
}

/** Grades in ranked order, or undefined when the example is not a ranking example. */
export function judgeRanking(ex: MetricExample, limit = Infinity): Judged | undefined {
  const { relevance } = ex;
  const ranking = ex.prediction.ranking;
  if (!relevance || !ranking) return undefined;
  let relevantTotal = 0;
  for (const doc in relevance) if (relevance[doc] > 0) relevantTotal++;
  const depth = Math.min(limit, ranking.length);
  const grades: number[] = new Array(depth);
  const seen = new Set<string>();
  for (let i = 0; i < depth; i++) {
    const doc = ranking[i];
    const grade = seen.has(doc) ? 0 : (relevance[doc] ?? 0);
    seen.add(doc);
    grades[i] = grade > 0 ? grade : 0;
  }
  return { grades, relevantTotal };
}
