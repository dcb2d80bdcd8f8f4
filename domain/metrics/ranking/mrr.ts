/**
 * mrr@1.0.0 — mean reciprocal rank: 1 / (position of the first relevant document), 0 when
 * none is ranked. Queries without relevant documents count as 0 (common.ts).
 * State: n and an exact fixed-point sum of reciprocal ranks.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { judgeRanking, noRankingParams } from './common';

export const mrr = defineMetric({
  id: 'mrr',
  version: '1.0.0',
  taskTypes: ['ranking', 'retrieval'],
  params: noRankingParams,
  observe(ex, _params, out) {
    const judged = judgeRanking(ex);
    if (!judged) return false;
    const first = judged.grades.findIndex((g) => g > 0);
    if (first >= 0) out.real('rr', 1 / (first + 1));
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('rr') / n, n);
  },
});
