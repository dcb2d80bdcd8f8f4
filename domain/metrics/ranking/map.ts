/**
 * map@1.0.0 — mean average precision over the whole ranking (trec_eval's AP):
 * AP = (sum over relevant ranked positions i of precision@i) / (relevant documents in the
 * relevance map), so relevant documents never retrieved lower AP. Queries without relevant
 * documents count as 0 (common.ts). State: n and an exact fixed-point sum of AP.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { judgeRanking, noRankingParams } from './common';

export const map = defineMetric({
  id: 'map',
  version: '1.0.0',
  taskTypes: ['ranking', 'retrieval'],
  params: noRankingParams,
  observe(ex, _params, out) {
    const judged = judgeRanking(ex);
    if (!judged) return false;
    let hits = 0;
    let sum = 0;
    for (let i = 0; i < judged.grades.length; i++) {
      if (judged.grades[i] > 0) sum += ++hits / (i + 1);
    }
    if (judged.relevantTotal > 0 && sum > 0) out.real('ap', sum / judged.relevantTotal);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('ap') / n, n);
  },
});
