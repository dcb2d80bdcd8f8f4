/**
 * log_loss@1.0.0 — mean negative log-likelihood of the true label (scikit-learn `log_loss`).
 * Probabilities are the example's scores normalised to sum 1 (binary mode: see common.ts),
 * then clipped to [1e-15, 1 - 1e-15]; a true label missing from the scores has probability 0
 * (clipped: loss 34.54). Examples without usable scores (absent, negative, non-finite, all 0)
 * are skipped. State: n and an exact fixed-point sum of losses.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { clipProbability, positiveLabelParams, positiveProbability, scoreTotal } from './common';

export const logLoss = defineMetric({
  id: 'log_loss',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: positiveLabelParams,
  observe(ex, params, out) {
    const scores = ex.prediction.scores;
    if (ex.label === undefined || !scores) return false;
    let pTruth: number;
    if (params.positiveLabel !== undefined) {
      const p = positiveProbability(scores, params.positiveLabel);
      pTruth = ex.label === params.positiveLabel ? p : 1 - p;
    } else {
      pTruth = (scores[ex.label] ?? 0) / scoreTotal(scores);
    }
    if (Number.isNaN(pTruth)) return false;
    out.real('loss', -Math.log(clipProbability(pTruth)));
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('loss') / n, n);
  },
});
