/**
 * rmse@1.0.0 — root mean squared error sqrt(mean((prediction.value - target)^2))
 * (scikit-learn `root_mean_squared_error`). Examples without a finite target and
 * prediction are skipped. State: n and an exact fixed-point sum of squared errors.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';

export const rmse = defineMetric({
  id: 'rmse',
  version: '1.0.0',
  taskTypes: ['regression'],
  params: z.object({}).strict(),
  observe(ex, _params, out) {
    const value = ex.prediction.value;
    if (value === undefined || ex.target === undefined || !Number.isFinite(value) || !Number.isFinite(ex.target))
      return false;
    const error = value - ex.target;
    if (!Number.isFinite(error * error)) return false;
    out.real('sq', error * error);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(Math.sqrt(stats.real('sq') / n), n);
  },
});
