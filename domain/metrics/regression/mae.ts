/**
 * mae@1.0.0 — mean absolute error |prediction.value - target| (scikit-learn
 * `mean_absolute_error`). Examples without a finite target and prediction are skipped.
 * State: n and an exact fixed-point sum (relative quantisation <= 2^-33 per example).
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';

export const mae = defineMetric({
  id: 'mae',
  version: '1.0.0',
  taskTypes: ['regression'],
  params: z.object({}).strict(),
  observe(ex, _params, out) {
    const value = ex.prediction.value;
    if (value === undefined || ex.target === undefined || !Number.isFinite(value) || !Number.isFinite(ex.target))
      return false;
    const error = Math.abs(value - ex.target);
    if (!Number.isFinite(error)) return false;
    out.real('abs', error);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('abs') / n, n);
  },
});
