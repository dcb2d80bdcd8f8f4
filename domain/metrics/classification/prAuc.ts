/**
 * pr_auc@1.0.0 — average precision (scikit-learn `average_precision_score`: the step-function
 * sum of (R_k - R_{k-1}) P_k over distinct score thresholds, no interpolation). Multiclass is
 * one-vs-rest, macro. The point value is exact; see scoreCurves.ts for state and undefined cases.
 */
import { defineMetric } from '../state';
import { positiveLabelParams } from './common';
import { averagePrecision, computeScoreCurve, observeScoreCurves } from './scoreCurves';

export const prAuc = defineMetric({
  id: 'pr_auc',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: positiveLabelParams,
  range: [0, 1],
  observe: observeScoreCurves,
  compute: (stats, params) => computeScoreCurve(stats, params, averagePrecision),
});
