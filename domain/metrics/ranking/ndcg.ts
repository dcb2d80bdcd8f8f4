/**
 * ndcg@1.0.0 — normalised discounted cumulative gain at k (Järvelin & Kekäläinen 2002).
 * DCG@k = sum_{i=1..k} gain(rel_i) / log2(i + 1); gain = 2^rel - 1 ("exponential", default)
 * or rel ("linear", scikit-learn `ndcg_score`'s gain). IDCG@k is the DCG of the relevance
 * map's grades sorted descending. No `k` = the whole ranking. A query with IDCG = 0 (no
 * relevant documents) contributes 0 and is counted (see common.ts).
 * State: n and an exact fixed-point sum of per-query nDCG.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { judgeRanking } from './common';

const ndcgParams = z
  .object({
    k: z.number().int().min(1).max(100000).optional(),
    gain: z.enum(['exponential', 'linear']).default('exponential'),
  })
  .strict();

export const ndcg = defineMetric({
  id: 'ndcg',
  version: '1.0.0',
  taskTypes: ['ranking', 'retrieval'],
  params: ndcgParams,
  observe(ex, params, out) {
    const k = params.k ?? Infinity;
    const judged = judgeRanking(ex, k);
    if (!judged || !ex.relevance) return false;
    const gain = params.gain === 'linear' ? (g: number) => g : (g: number) => 2 ** g - 1;
    let dcg = 0;
    for (let i = 0; i < judged.grades.length; i++)
      if (judged.grades[i] > 0) dcg += gain(judged.grades[i]) / Math.log2(i + 2);
    const ideal = Object.values(ex.relevance)
      .filter((g) => g > 0)
      .sort((a, b) => b - a);
    let idcg = 0;
    for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += gain(ideal[i]) / Math.log2(i + 2);
    const value = idcg > 0 ? dcg / idcg : 0;
    if (!Number.isFinite(value)) return false; // grades so large that 2^rel overflows
    if (value > 0) out.real('ndcg', value);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('ndcg') / n, n);
  },
});
