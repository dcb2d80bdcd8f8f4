/**
 * f1@1.1.0 — per class 2TP / (2TP + FP + FN) (the harmonic mean of precision and recall,
 * 0 when TP = 0), from a confusion-count state. Averages: see averaging.ts; macro and
 * weighted average the per-class F1 (scikit-learn), micro uses global counts.
 * Binary F1 is undefined — null with a reason, never 0 — when the data hold no positive
 * labels (recall, hence F1, of the positive class is 0/0: reason "no_positive_labels"),
 * e.g. F1 of `spam` on a slice of ham emails; or neither true nor predicted positives
 * ("no_positive_labels_or_predictions"). Changed from 1.0.0, which reported 0 in the
 * first case.
 */
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { averagedRatio, f1Ratio } from './averaging';
import { averageParams, confusionTallies, observeConfusion } from './common';

export const f1 = defineMetric({
  id: 'f1',
  version: '1.1.0',
  taskTypes: ['classification'],
  params: averageParams,
  observe: (ex, _params, out) => observeConfusion(ex, out),
  compute: (stats, params) => {
    if (params.average !== 'binary') return averagedRatio(stats, params, f1Ratio, 'no_positive_labels_or_predictions');
    const { tallies, total } = confusionTallies(stats);
    if (total === 0) return undefinedOutcome(NO_EXAMPLES, 0);
    const positive = tallies.get(params.positiveLabel as string);
    if (!positive || positive.tp + positive.fn === 0)
      return undefinedOutcome(positive?.fp ? 'no_positive_labels' : 'no_positive_labels_or_predictions', total);
    return outcome((2 * positive.tp) / (2 * positive.tp + positive.fp + positive.fn), total);
  },
});
