/**
 * brier@1.0.0 — mean squared error of probabilities (scikit-learn `brier_score_loss`).
 * - Binary (`positiveLabel`): (p - y)^2 with p = P(positive), y = 1 for the positive label.
 * - Multiclass: sum over classes (the scores' keys and the true label) of (p_c - [c = truth])^2,
 *   so for two classes it is twice the binary value (scikit-learn >= 1.7 multiclass definition).
 * Probabilities are normalised scores (common.ts); examples without usable scores are skipped.
 * State: n and an exact fixed-point sum.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { positiveLabelParams, positiveProbability, scoreTotal } from './common';

export const brier = defineMetric({
  id: 'brier',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: positiveLabelParams,
  observe(ex, params, out) {
    const scores = ex.prediction.scores;
    const truth = ex.label;
    if (truth === undefined || !scores) return false;
    let loss: number;
    if (params.positiveLabel !== undefined) {
      const p = positiveProbability(scores, params.positiveLabel);
      const y = truth === params.positiveLabel ? 1 : 0;
      loss = (p - y) * (p - y);
    } else {
      const sum = scoreTotal(scores);
      loss = truth in scores ? 0 : 1;
      for (const c in scores) {
        const d = scores[c] / sum - (c === truth ? 1 : 0);
        loss += d * d;
      }
    }
    if (Number.isNaN(loss)) return false;
    out.real('sq', loss);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('sq') / n, n);
  },
});
