/**
 * accuracy@1.0.0 — fraction of examples whose predicted label equals the true label
 * (scikit-learn `accuracy_score`). Predicted label: `prediction.label`, else argmax of scores.
 * State: two integer counters (n, correct).
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { noParams, predictedLabel } from './common';

export const accuracy = defineMetric({
  id: 'accuracy',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: noParams,
  observe(ex, _params, out) {
    if (ex.label === undefined) return false;
    const predicted = predictedLabel(ex);
    if (predicted === undefined) return false;
    if (predicted === ex.label) out.count('correct', 1);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.count('correct') / n, n);
  },
});
