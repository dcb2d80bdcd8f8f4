/**
 * Averaging of per-class ratios for precision, recall and f1 (scikit-learn semantics,
 * `precision_recall_fscore_support` with zero_division=0 for per-class 0/0):
 * - binary: the ratio for `positiveLabel` alone; a 0/0 there is *undefined* and yields
 *   null with a reason (a gate should see "no positives", not a silent 0);
 * - micro: sum of numerators over sum of denominators across classes;
 * - macro: unweighted mean over classes (union of true and predicted labels), a class's
 *   0/0 counting as 0;
 * - weighted: mean weighted by each class's support (true count).
 * Classes are visited in sorted order, so the float result is independent of arrival order.
 */
import { NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import type { MetricOutcome, MetricStats } from '../types';
import { type AverageParams, type ClassTally, confusionTallies } from './common';

/** A per-class ratio as numerator and denominator. */
export type ClassRatio = (t: ClassTally) => readonly [number, number];

export const precisionRatio: ClassRatio = (t) => [t.tp, t.tp + t.fp];
export const recallRatio: ClassRatio = (t) => [t.tp, t.tp + t.fn];
export const f1Ratio: ClassRatio = (t) => [2 * t.tp, 2 * t.tp + t.fp + t.fn];

const EMPTY: ClassTally = { tp: 0, fp: 0, fn: 0, support: 0 };
const safeRatio = ([num, den]: readonly [number, number]): number => (den === 0 ? 0 : num / den);

export function averagedRatio(
  stats: MetricStats,
  params: AverageParams,
  ratio: ClassRatio,
  binaryUndefinedReason: string,
): MetricOutcome {
  const { classes, tallies, total } = confusionTallies(stats);
  if (total === 0) return undefinedOutcome(NO_EXAMPLES, 0);
  switch (params.average) {
    case 'binary': {
      const [num, den] = ratio(tallies.get(params.positiveLabel as string) ?? EMPTY);
      return den === 0 ? undefinedOutcome(binaryUndefinedReason, total) : outcome(num / den, total);
    }
    case 'micro': {
      let num = 0;
      let den = 0;
      for (const c of classes) {
        const [a, b] = ratio(tallies.get(c) as ClassTally);
        num += a;
        den += b;
      }
      return den === 0 ? undefinedOutcome(binaryUndefinedReason, total) : outcome(num / den, total);
    }
    case 'macro': {
      let sum = 0;
      for (const c of classes) sum += safeRatio(ratio(tallies.get(c) as ClassTally));
      return outcome(sum / classes.length, total);
    }
    case 'weighted': {
      let sum = 0;
      for (const c of classes) {
        const t = tallies.get(c) as ClassTally;
        sum += t.support * safeRatio(ratio(t));
      }
      return outcome(sum / total, total);
    }
  }
}
