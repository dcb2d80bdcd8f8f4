/**
 * Point estimate and 95% percentile bootstrap interval of one metric on one layer.
 *
 * The point value is `compute` on slot 0 (exact). Replicate b is `compute` on slot b. For
 * metrics with score histograms the replicates see binned scores; each replicate value is
 * shifted by (exact point - binned point) and clamped to the metric's range (layer.ts).
 * Replicates where the metric is undefined (e.g. a resample with a single class) are left
 * out; if more than half are undefined the interval is withheld.
 * Percentiles interpolate linearly between order statistics (Hyndman & Fan type 7, numpy's
 * default), over replicates sorted ascending.
 */
import { LayerStats, type MetricLayer } from './layer';
import type { AnyMetricImpl } from './types';

export const CONFIDENCE_LEVEL = 0.95;

export interface LayerEstimate {
  value: number | null;
  n: number;
  reason?: string;
  ciLow: number | null;
  ciHigh: number | null;
  /** Replicate values (NaN where undefined); empty without replicates. */
  replicates: Float64Array;
}

export function estimateLayer(
  impl: AnyMetricImpl,
  params: unknown,
  layer: MetricLayer,
  all: Float64Array,
  replicates: number,
): LayerEstimate {
  const stats = new LayerStats(layer, all);
  const point = impl.compute(stats, params);
  const values = new Float64Array(point.value === null ? 0 : replicates).fill(NaN);
  const estimate: LayerEstimate = { value: point.value, n: point.n, ciLow: null, ciHigh: null, replicates: values };
  if (point.reason !== undefined) estimate.reason = point.reason;
  if (point.value === null || replicates === 0) return estimate;

  let shift = 0;
  if (layer.hists.size > 0) {
    stats.binned = true;
    const binnedPoint = impl.compute(stats, params).value;
    if (binnedPoint !== null) shift = point.value - binnedPoint;
  }
  const [lo, hi] = impl.range ?? [-Infinity, Infinity];
  for (let b = 1; b <= replicates; b++) {
    stats.slot = b;
    const v = impl.compute(stats, params).value;
    if (v !== null) values[b - 1] = Math.min(hi, Math.max(lo, v + shift));
  }
  const interval = percentileInterval(values, CONFIDENCE_LEVEL);
  if (interval) [estimate.ciLow, estimate.ciHigh] = interval;
  else estimate.reason = 'bootstrap_mostly_undefined';
  return estimate;
}

/** Two-sided percentile interval of the defined (non-NaN) values; null if fewer than half are defined. */
export function percentileInterval(values: Float64Array, level: number): [number, number] | null {
  const defined = values.filter((v) => !Number.isNaN(v)).sort();
  if (defined.length === 0 || defined.length * 2 < values.length) return null;
  const tail = (1 - level) / 2;
  return [percentile(defined, tail), percentile(defined, 1 - tail)];
}

/** Type-7 percentile of ascending values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
