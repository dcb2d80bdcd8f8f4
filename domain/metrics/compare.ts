/**
 * Paired comparison of two runs over the same examples, and McNemar's exact test.
 *
 * Candidate and baseline accumulators built with the SAME seed over the SAME example ids
 * share every example's bootstrap weights, so replicate b of both is the same resample:
 * the replicate deltas form a paired bootstrap distribution of (candidate - baseline).
 * - delta interval: 95% percentile interval of the replicate deltas (estimate.ts);
 * - pValue: two-sided bootstrap p-value 2 * min(P*(delta <= 0), P*(delta >= 0)) over
 *   replicates, floored at 1/(B+1) and capped at 1.
 * States built over different example sets (count or id digest differ) cannot be paired:
 * AccumulatorMismatchError.
 */
import { type AccumulatorSpec, type AccumulatorState, loadAccumulatorViews, resolveSpec } from './accumulator';
import { CONFIDENCE_LEVEL, estimateLayer, percentileInterval } from './estimate';
import type { MetricLayer } from './layer';
import { AccumulatorMismatchError, type AnyMetricImpl } from './types';

export interface SliceComparison {
  candidate: number | null;
  baseline: number | null;
  delta: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  pValue: number | null;
  reason?: string;
}

export interface MetricComparison extends SliceComparison {
  /** Tags present in both runs. */
  slices?: Record<string, SliceComparison>;
}

export function compareAccumulators(
  spec: AccumulatorSpec,
  candidate: AccumulatorState,
  baseline: AccumulatorState,
): Record<string, MetricComparison> {
  const resolved = resolveSpec(spec);
  const cand = loadAccumulatorViews(resolved, candidate);
  const base = loadAccumulatorViews(resolved, baseline);
  if (cand.examples !== base.examples || cand.digest !== base.digest) {
    throw new AccumulatorMismatchError(
      'candidate and baseline were accumulated over different example sets; a paired comparison needs the same examples',
    );
  }
  const out: Record<string, MetricComparison> = {};
  for (const metric of resolved.metrics) {
    const c = cand.views.get(metric.name) as NonNullable<ReturnType<typeof cand.views.get>>;
    const b = base.views.get(metric.name) as NonNullable<ReturnType<typeof base.views.get>>;
    const result: MetricComparison = compareLayers(
      metric.impl,
      metric.params,
      c.overall,
      b.overall,
      resolved.replicates,
    );
    const shared = [...c.slices.keys()].filter((tag) => b.slices.has(tag));
    if (shared.length > 0) {
      result.slices = {};
      for (const tag of shared) {
        result.slices[tag] = compareLayers(
          metric.impl,
          metric.params,
          c.slices.get(tag) as LayerView,
          b.slices.get(tag) as LayerView,
          resolved.replicates,
        );
      }
    }
    out[metric.name] = result;
  }
  return out;
}

type LayerView = { layer: MetricLayer; all: Float64Array };

function compareLayers(
  impl: AnyMetricImpl,
  params: unknown,
  candidate: LayerView,
  baseline: LayerView,
  replicates: number,
): SliceComparison {
  const c = estimateLayer(impl, params, candidate.layer, candidate.all, replicates);
  const b = estimateLayer(impl, params, baseline.layer, baseline.all, replicates);
  const result: SliceComparison = {
    candidate: c.value,
    baseline: b.value,
    delta: null,
    deltaCiLow: null,
    deltaCiHigh: null,
    pValue: null,
  };
  if (c.value === null || b.value === null) {
    result.reason = c.value === null ? `candidate_${c.reason ?? 'undefined'}` : `baseline_${b.reason ?? 'undefined'}`;
    return result;
  }
  result.delta = c.value - b.value;
  if (replicates === 0) return result;
  const deltas = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) deltas[r] = c.replicates[r] - b.replicates[r]; // NaN if either undefined
  const interval = percentileInterval(deltas, CONFIDENCE_LEVEL);
  if (!interval) {
    result.reason = 'bootstrap_mostly_undefined';
    return result;
  }
  [result.deltaCiLow, result.deltaCiHigh] = interval;
  result.pValue = bootstrapPValue(deltas);
  return result;
}

/** Two-sided bootstrap p-value of "delta = 0" from replicate deltas (NaN entries ignored). */
export function bootstrapPValue(deltas: ArrayLike<number>): number | null {
  let defined = 0;
  let atMostZero = 0;
  let atLeastZero = 0;
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i];
    if (Number.isNaN(d)) continue;
    defined++;
    if (d <= 0) atMostZero++;
    if (d >= 0) atLeastZero++;
  }
  if (defined === 0) return null;
  const p = (2 * Math.min(atMostZero, atLeastZero)) / defined;
  return Math.min(1, Math.max(p, 1 / (defined + 1)));
}

/**
 * McNemar's exact test: two-sided binomial p-value for b and c discordant pairs
 * (p = min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2)).
 */
export function mcnemarExact(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0)
    throw new RangeError('discordant counts must be integers >= 0');
  const n = b + c;
  const k = Math.min(b, c);
  if (2 * k >= n) return 1;
  // log P(X = k) = log C(n, k) - n log 2, then the tail by P(X = i - 1) = P(X = i) i / (n - i + 1).
  let logC = 0;
  for (let i = 1; i <= k; i++) logC += Math.log((n - k + i) / i);
  let term = Math.exp(logC - n * Math.LN2);
  let tail = 0;
  for (let i = k; i >= 0; i--) {
    tail += term;
    if (term < tail * 1e-17) break;
    term *= i / (n - i + 1);
  }
  return Math.min(1, 2 * tail);
}
