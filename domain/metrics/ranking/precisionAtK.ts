/**
 * precision_at_k@1.0.0 — per query (relevant documents in the top k) / k, averaged over
 * queries. The denominator is k even when the ranking is shorter than k: a system that
 * returns fewer results is not rewarded for it. State: n and hits (integers, exact).
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { judgeRanking, kParams } from './common';

export const precisionAtK = defineMetric({
  id: 'precision_at_k',
  version: '1.0.0',
  taskTypes: ['ranking', 'retrieval'],
  params: kParams,
  observe(ex, params, out) {
    const judged = judgeRanking(ex, params.k);
    if (!judged) return false;
    out.count('hits', judged.grades.filter((g) => g > 0).length);
    return true;
  },
  compute(stats, params) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.count('hits') / (n * params.k), n);
  },
});
