/**
 * `defineMetric` turns a metric definition (observe + compute) into a full
 * implementation with the per-metric JSON state API: init / update / merge / finalize.
 * The run accumulator (accumulator.ts) uses the same observe/compute on a columnar,
 * replicated state instead; both read the same summed features, so they agree exactly.
 */
import { limbsToReal, splitReal } from './fixedPoint';
import type {
  FeatureSink,
  MetricDefinition,
  MetricExample,
  MetricId,
  MetricImpl,
  MetricOutcome,
  MetricState,
  MetricStats,
  ScoreHistogram,
} from './types';

export function defineMetric<P, const Id extends MetricId>(def: MetricDefinition<P, Id>): MetricImpl<P, Id> {
  return {
    ...def,
    init: () => emptyMetricState(),
    update(state, ex, params, weight) {
      if (!Number.isInteger(weight) || weight < 0)
        throw new RangeError(`weight must be an integer >= 0, got ${weight}`);
      if (weight === 0) return;
      const probe = emptyMetricState();
      if (!def.observe(ex, params, new StateSink(probe, weight))) return;
      probe.n = weight;
      mergeMetricStates(state, probe);
    },
    merge: (into, from) => mergeMetricStates(into, from),
    finalize: (state, params) => def.compute(new StateStats(state), params),
  };
}

export function emptyMetricState(): MetricState {
  return { n: 0, counts: {}, reals: {}, hists: {} };
}

export function mergeMetricStates(into: MetricState, from: MetricState): void {
  into.n += from.n;
  for (const [key, amount] of Object.entries(from.counts)) into.counts[key] = (into.counts[key] ?? 0) + amount;
  for (const [key, limbs] of Object.entries(from.reals)) {
    const target = (into.reals[key] ??= {});
    for (const [limb, sum] of Object.entries(limbs)) target[limb] = (target[limb] ?? 0) + sum;
  }
  for (const [key, hist] of Object.entries(from.hists)) {
    const target = (into.hists[key] ??= {});
    for (const [score, weight] of Object.entries(hist)) target[score] = (target[score] ?? 0) + weight;
  }
}

const digits = new Float64Array(3);

/** Writes weighted contributions straight into a MetricState. */
class StateSink implements FeatureSink {
  constructor(
    private readonly state: MetricState,
    private readonly weight: number,
  ) {}

  count(key: string, amount: number): void {
    if (amount !== 0) this.state.counts[key] = (this.state.counts[key] ?? 0) + amount * this.weight;
  }

  real(key: string, value: number): void {
    const base = splitReal(value, digits);
    if (Number.isNaN(base)) return;
    const limbs = (this.state.reals[key] ??= {});
    for (let i = 0; i < 3; i++) {
      if (digits[i] !== 0) limbs[base + i] = (limbs[base + i] ?? 0) + digits[i] * this.weight;
    }
  }

  score(key: string, score: number): void {
    const hist = (this.state.hists[key] ??= {});
    const s = String(score);
    hist[s] = (hist[s] ?? 0) + this.weight;
  }
}

/** Reads a MetricState for `compute`. */
class StateStats implements MetricStats {
  private sortedCountKeys?: string[];

  constructor(private readonly state: MetricState) {}

  n(): number {
    return this.state.n;
  }

  count(key: string): number {
    return this.state.counts[key] ?? 0;
  }

  real(key: string): number {
    const limbs = this.state.reals[key];
    if (!limbs) return 0;
    const entries = Object.entries(limbs);
    return limbsToReal(
      entries.map(([limb]) => Number(limb)),
      entries.map(([, sum]) => sum),
    );
  }

  countKeys(): readonly string[] {
    return (this.sortedCountKeys ??= Object.keys(this.state.counts)
      .filter((k) => this.state.counts[k] !== 0)
      .sort());
  }

  histKeys(): readonly string[] {
    return Object.keys(this.state.hists).sort();
  }

  hist(key: string): ScoreHistogram {
    return sortHistogram(Object.entries(this.state.hists[key] ?? {}).map(([score, weight]) => [Number(score), weight]));
  }
}

/** Ascending by score, dropping zero weights. */
export function sortHistogram(entries: [number, number][]): ScoreHistogram {
  const kept = entries.filter(([, weight]) => weight > 0).sort((a, b) => a[0] - b[0]);
  return { scores: kept.map(([score]) => score), weights: kept.map(([, weight]) => weight) };
}

/** Shorthand for `compute` results. */
export const outcome = (value: number, n: number): MetricOutcome => ({ value, n });
export const undefinedOutcome = (reason: string, n: number): MetricOutcome => ({ value: null, n, reason });
export const NO_EXAMPLES = 'no_examples';

/** Run examples through a metric's full state API; handy in tests and one-off scoring. */
export function scoreExamples<P>(impl: MetricImpl<P>, params: P, examples: readonly MetricExample[]): MetricOutcome {
  const state = impl.init(params);
  for (const ex of examples) impl.update(state, ex, params, 1);
  return impl.finalize(state, params);
}
