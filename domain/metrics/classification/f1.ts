/**
 * f1@1.0.0 — per class 2TP / (2TP + FP + FN) (the harmonic mean of precision and recall,
 * 0 when TP = 0), from a confusion-count state. Averages: see averaging.ts; macro and
 * weighted average the per-class F1 (scikit-learn), micro uses global counts. Binary with
 * neither true nor predicted positives is undefined: null, reason "no_positive_labels_or_predictions".
 */
import { defineMetric } from '../state';
import { averagedRatio, f1Ratio } from './averaging';
import { averageParams, observeConfusion } from './common';

export const f1 = defineMetric({
  id: 'f1',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => averagedRatio(stats, params, f1Ratio, 'no_positive_labels_or_predictions'),
});
