/**
 * roc_auc@1.0.0 — area under the ROC curve (scikit-learn `roc_auc_score`; multiclass is
 * one-vs-rest, macro). Ties between a positive and a negative score count 1/2. The point
 * value is exact; see scoreCurves.ts for state, normalisation and undefined cases.
 */
import { defineMetric } from '../state';
import { positiveLabelParams } from './common';
import { computeScoreCurve, observeScoreCurves, rocAuc as rocAucCurve } from './scoreCurves';

export const rocAuc = defineMetric({
  id: 'roc_auc',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: positiveLabelParams,
  range: [0, 1],
  observe: observeScoreCurves,
  compute: (stats, params) => computeScoreCurve(stats, params, rocAucCurve),
});
