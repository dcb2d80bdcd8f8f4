/**
 * Shared classification conventions.
 *
 * - Labels are strings. The predicted label is `prediction.label`, or else the argmax of
 *   `prediction.scores` (ties go to the lexicographically smallest label).
 * - Probabilities: `prediction.scores` normalised to sum 1 over its keys. In binary mode
 *   (a `positiveLabel` param) a scores object holding only the positive label is read as
 *   P(positive) directly.
 * - An example lacking what a metric needs (truth label, prediction, usable scores) is
 *   skipped by that metric and not counted in its n.
 * - Confusion counters are keyed `truth NUL predicted`; labels must not contain NUL.
 */
import { z } from 'zod';
import type { FeatureSink, MetricExample, MetricStats } from '../types';

export const noParams = z.object({}).strict();
export type NoParams = z.infer<typeof noParams>;

export const positiveLabelParams = z.object({ positiveLabel: z.string().min(1).optional() }).strict();
export type PositiveLabelParams = z.infer<typeof positiveLabelParams>;

export const AVERAGES = ['binary', 'macro', 'micro', 'weighted'] as const;
export type Average = (typeof AVERAGES)[number];

/** `average` defaults to binary when a positiveLabel is given, else macro; binary needs positiveLabel. */
export const averageParams = z
  .object({ average: z.enum(AVERAGES).optional(), positiveLabel: z.string().min(1).optional() })
  .strict()
  .transform((p) => ({
    average: p.average ?? (p.positiveLabel !== undefined ? 'binary' : 'macro'),
    positiveLabel: p.positiveLabel,
  }))
  .refine((p) => p.average !== 'binary' || p.positiveLabel !== undefined, {
    message: 'average "binary" needs a positiveLabel',
  });
export type AverageParams = z.infer<typeof averageParams>;

export function argmaxLabel(scores: Record<string, number>): string | undefined {
  let best: string | undefined;
  let bestScore = -Infinity;
  for (const label in scores) {
    const s = scores[label];
    if (!Number.isFinite(s)) continue;
    if (s > bestScore || (s === bestScore && best !== undefined && label < best)) {
      best = label;
      bestScore = s;
    }
  }
  return best;
}

export function predictedLabel(ex: MetricExample): string | undefined {
  const { label, scores } = ex.prediction;
  if (label !== undefined) return label;
  return scores ? argmaxLabel(scores) : undefined;
}

/** Sum of finite, non-negative scores; NaN if any score is negative or not finite, or there are none. */
export function scoreTotal(scores: Record<string, number>): number {
  let total = 0;
  let any = false;
  for (const label in scores) {
    const s = scores[label];
    if (!Number.isFinite(s) || s < 0) return NaN;
    total += s;
    any = true;
  }
  return any && total > 0 ? total : NaN;
}

/** P(positive) in binary mode, or NaN when the example has no usable score. */
export function positiveProbability(scores: Record<string, number> | undefined, positiveLabel: string): number {
  if (!scores) return NaN;
  const s = scores[positiveLabel];
  if (s === undefined) return NaN;
  if (hasSingleKey(scores)) return s >= 0 && s <= 1 ? s : NaN;
  return s / scoreTotal(scores);
}

function hasSingleKey(scores: Record<string, number>): boolean {
  let keys = 0;
  for (const label in scores) if (label !== undefined) keys++;
  return keys === 1;
}

export const LOG_LOSS_EPS = 1e-15;
export const clipProbability = (p: number): number =>
  p < LOG_LOSS_EPS ? LOG_LOSS_EPS : p > 1 - LOG_LOSS_EPS ? 1 - LOG_LOSS_EPS : p;

const SEP = '\u0000';
export const confusionKey = (truth: string, predicted: string): string => truth + SEP + predicted;

export interface ClassTally {
  tp: number;
  /** Predicted as this class but truth differs. */
  fp: number;
  /** Truth is this class but predicted differently. */
  fn: number;
  /** Examples whose truth is this class. */
  support: number;
}

/** Per-class tallies from confusion counters; classes = union of true and predicted labels, sorted. */
export function confusionTallies(stats: MetricStats): {
  classes: string[];
  tallies: Map<string, ClassTally>;
  total: number;
} {
  const tallies = new Map<string, ClassTally>();
  const tally = (label: string): ClassTally => {
    let t = tallies.get(label);
    if (!t) tallies.set(label, (t = { tp: 0, fp: 0, fn: 0, support: 0 }));
    return t;
  };
  let total = 0;
  for (const key of stats.countKeys()) {
    const cut = key.indexOf(SEP);
    const truth = key.slice(0, cut);
    const predicted = key.slice(cut + 1);
    const count = stats.count(key);
    total += count;
    tally(truth).support += count;
    if (truth === predicted) tally(truth).tp += count;
    else {
      tally(truth).fn += count;
      tally(predicted).fp += count;
    }
  }
  return { classes: [...tallies.keys()].sort(), tallies, total };
}

/** Emit one confusion cell for an example with a truth label and a prediction. */
export function observeConfusion(ex: MetricExample, out: FeatureSink): boolean {
  if (ex.label === undefined) return false;
  const predicted = predictedLabel(ex);
  if (predicted === undefined) return false;
  out.count(confusionKey(ex.label, predicted), 1);
  return true;
}
