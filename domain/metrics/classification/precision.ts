/**
 * precision@1.0.0 — TP / (TP + FP) from a confusion-count state (one counter per
 * (truth, predicted) pair, bounded by classes^2). Averages: see averaging.ts. Binary with no
 * predicted positives is undefined: null, reason "no_positive_predictions".
 */
import { defineMetric } from '../state';
import { averagedRatio, precisionRatio } from './averaging';
import { averageParams, observeConfusion } from './common';

export const precision = defineMetric({
  id: 'precision',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => averagedRatio(stats, params, precisionRatio, 'no_positive_predictions'),
});
