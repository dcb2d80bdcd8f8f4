/**
 * recall@1.0.0 — TP / (TP + FN) from a confusion-count state. Averages: see averaging.ts.
 * Binary with no true positives in the data (TP + FN = 0) is undefined: null, reason
 * "no_positive_labels" — chosen over scikit-learn's zero_division=0 so a gate on recall
 * fails closed instead of passing or failing on a made-up 0.
 */
import { defineMetric } from '../state';
import { averagedRatio, recallRatio } from './averaging';
import { averageParams, observeConfusion } from './common';

export const recall = defineMetric({
  id: 'recall',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => averagedRatio(stats, params, recallRatio, 'no_positive_labels'),
});
