/**
 * recall@0.9.0 — HISTORICAL, WRONG. Kept only so that runs made with it can be
 * recomputed bit for bit, and so incidents can name it as the bad version.
 *
 * The bug: the per-class ratio was copied from precision, dividing true positives by the
 * number of *predicted* positives (TP / (TP + FP)). It therefore returns precision.
 * Fixed in recall@1.0.0 (TP / (TP + FN)). Do not use for new runs.
 */
import { defineMetric } from '../state';
import { averagedRatio, type ClassRatio } from './averaging';
import { averageParams, observeConfusion } from './common';

const buggyRecallRatio: ClassRatio = (t) => [t.tp, t.tp + t.fp];

export const recallV0_9_0 = defineMetric({
  id: 'recall',
  version: '0.9.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => averagedRatio(stats, params, buggyRecallRatio, 'no_positive_labels'),
});
