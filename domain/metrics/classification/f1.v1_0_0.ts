/**
 * f1@1.0.0 — SUPERSEDED by f1@1.1.0; kept so runs made with it recompute bit for bit.
 * Its flaw: binary F1 on data with no positive labels but some positive predictions is 0
 * (2TP / (FP) = 0) with a zero-width interval, a made-up number a gate could act on.
 *
 * Per class 2TP / (2TP + FP + FN) (the harmonic mean of precision and recall,
 * 0 when TP = 0), from a confusion-count state. Averages: see averaging.ts; macro and
 * weighted average the per-class F1 (scikit-learn), micro uses global counts. Binary with
 * neither true nor predicted positives is undefined: null, reason "no_positive_labels_or_predictions".
 */
import { defineMetric } from '../state';
import { averagedRatio, f1Ratio } from './averaging';
import { averageParams, observeConfusion } from './common';

export const f1V1_0_0 = defineMetric({
  id: 'f1',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => averagedRatio(stats, params, f1Ratio, 'no_positive_labels_or_predictions'),
});
