/**
 * recall_at_k@1.0.0 — per query (relevant documents in the top k) / (relevant documents in
 * the relevance map), averaged over queries. Queries without relevant documents count as 0
 * (common.ts). State: n and an exact fixed-point sum of per-query recall.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { judgeRanking, kParams } from './common';

export const recallAtK = defineMetric({
  id: 'recall_at_k',
  version: '1.0.0',
  taskTypes: ['ranking', 'retrieval'],
  params: kParams,
  observe(ex, params, out) {
    const judged = judgeRanking(ex, params.k);
    if (!judged) return false;
    const hits = judged.grades.filter((g) => g > 0).length;
    if (judged.relevantTotal > 0 && hits > 0) out.real('recall', hits / judged.relevantTotal);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('recall') / n, n);
  },
});
