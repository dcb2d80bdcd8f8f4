/**
 * Candidate vs baseline, per metric and per slice, over the examples both runs share.
 *
 * `createRunComparer` is the pure part (the bench and tests feed it pairs in memory);
 * `compareRuns` streams both runs' stored records into it.
 *
 * - Binary outcomes (accuracy, exact_match): the delta interval at every confidence level
 *   is Tango's score interval from the discordant counts (domain/stats/pairedProportions.ts)
 *   and the p-value McNemar's exact test. Both are functions of three counts: no seed, no
 *   resampling noise, coverage within half a point of nominal from n = 300 (docs/gates.md).
 * - Other metrics: a paired bootstrap. Both runs' records are re-accumulated with ONE seed,
 *   so every shared example gets the same Poisson weights on both sides and replicate b of
 *   the candidate and of the baseline are the same resample; COMPARISON_REPLICATES
 *   replicates (comparisons are recomputed from stored records, so more are cheap here).
 *   The seed is the caller's: content-derived (both runs' content keys), so the same
 *   predictions give the same numbers whatever the run ids.
 * - regressed / improved counts: examples right in one run and wrong in the other.
 */
import type { Storage } from '../../common/storage';
import { type AccumulatorSpec, createAccumulator, loadAccumulatorViews, resolveSpec } from '../metrics/accumulator';
import { compareAccumulators, mcnemarExact, type SliceComparison } from '../metrics/compare';
import { estimateLayer, percentileInterval } from '../metrics/estimate';
import { normalizeAnswer } from '../metrics/generation/text';
import type { MetricId } from '../metrics/types';
import { type ExampleRecord, toMetricExample } from '../runs/records';
import { tangoInterval } from '../stats/pairedProportions';
import { binaryOutcome, pairedExamples, type PairTally } from './pairs';

export interface SuiteMetric {
  name: string;
  metric: string;
  params?: Record<string, unknown>;
  slices?: string[];
  implVersion: string;
}

export interface ComparedValue {
  candidate: number | null;
  baseline: number | null;
  delta: number | null;
  /** delta / |baseline|; null when the baseline is 0 or missing. */
  relativeDelta: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  /** How the delta interval was made. */
  intervalMethod?: 'tango_score' | 'paired_bootstrap';
  pValue: number | null;
  pValueMethod: 'paired_bootstrap' | 'mcnemar_exact' | null;
  /** Shared examples the metric counted. */
  n: number;
  /** Right in the baseline and wrong in the candidate, and the reverse (binary-outcome metrics only). */
  regressed?: number;
  improved?: number;
  /** Delta intervals at other confidence levels, keyed by the level as written ("0.9"). */
  intervals?: Record<string, [number, number] | null>;
  reason?: string;
}

export interface MetricComparisonView extends ComparedValue {
  metric: string;
  implVersion: string;
  slices: Record<string, ComparedValue>;
}

export interface RunComparison {
  seed: string;
  examples: PairTally;
  metrics: Record<string, MetricComparisonView>;
}

/** Metric ids whose per-example outcome is right/wrong, compared by discordant counts. */
export const BINARY_OUTCOME_METRICS: ReadonlySet<string> = new Set(['accuracy', 'exact_match']);

/**
 * Bootstrap replicates of a comparison (a run's own intervals use the accumulator default,
 * 200): 1000, except for suites with score-histogram metrics (roc_auc, pr_auc), whose
 * replicated histograms (2 x 1024 bins per class and slice) would cost ~16 MB per layer,
 * and none when every metric is a right/wrong outcome.
 */
export const COMPARISON_REPLICATES = 1000;
const HISTOGRAM_METRICS: ReadonlySet<string> = new Set(['roc_auc', 'pr_auc']);
export const comparisonReplicates = (metrics: SuiteMetric[]): number =>
  metrics.every((m) => BINARY_OUTCOME_METRICS.has(m.metric))
    ? 0 // every interval comes from discordant counts: resampling would be wasted work
    : metrics.some((m) => HISTOGRAM_METRICS.has(m.metric))
      ? 200
      : COMPARISON_REPLICATES;

interface Discordance {
  n: number;
  regressed: number;
  improved: number;
}

export interface ComparerInput {
  /** Bootstrap seed shared by both sides; derive it from content, never from run ids. */
  seed: string;
  metrics: SuiteMetric[];
  confidences?: number[];
  replicates?: number;
}

/** One shared example: its tags and both runs' records. */
export interface ComparedPair {
  tags: string[];
  candidate: ExampleRecord;
  baseline: ExampleRecord;
}

export interface RunComparer {
  add(pair: ComparedPair): void;
  finish(tally: PairTally): RunComparison;
}

/** The pure comparison: feed it every shared example once, in any order, then finish. */
export function createRunComparer(input: ComparerInput): RunComparer {
  const { seed } = input;
  const spec: AccumulatorSpec = {
    seed,
    replicates: input.replicates ?? comparisonReplicates(input.metrics),
    metrics: input.metrics.map((m) => ({
      name: m.name,
      metric: m.metric as MetricId,
      params: m.params ?? {},
      slices: m.slices,
      implVersion: m.implVersion,
    })),
  };
  const candidateAcc = createAccumulator(spec);
  const baselineAcc = createAccumulator(spec);
  const binary = input.metrics.filter((m) => BINARY_OUTCOME_METRICS.has(m.metric));
  const discordance = new Map<string, Map<string, Discordance>>(binary.map((m) => [m.name, new Map()]));

  return {
    add(pair) {
      candidateAcc.add(toMetricExample(pair.candidate));
      baselineAcc.add(toMetricExample(pair.baseline));
      for (const m of binary) {
        const c = binaryOutcome(m.metric, pair.candidate, normalizeAnswer);
        const b = binaryOutcome(m.metric, pair.baseline, normalizeAnswer);
        if (c === undefined || b === undefined) continue;
        const byLayer = discordance.get(m.name)!;
        for (const layer of ['', ...new Set(pair.tags)]) {
          const d = byLayer.get(layer) ?? { n: 0, regressed: 0, improved: 0 };
          d.n += 1;
          if (b && !c) d.regressed += 1;
          if (!b && c) d.improved += 1;
          byLayer.set(layer, d);
        }
      }
    },
    finish(tally) {
      const candidateState = candidateAcc.toJSON();
      const baselineState = baselineAcc.toJSON();
      const compared = compareAccumulators(spec, candidateState, baselineState);
      const levels = [...new Set((input.confidences ?? []).filter((c) => c !== 0.95))];
      const extra = levels.length
        ? extraIntervals(spec, candidateState, baselineState, levels)
        : new Map<string, Record<string, [number, number] | null>>();
      const counts = layerCounts(spec, candidateState);

      const metrics: Record<string, MetricComparisonView> = {};
      for (const m of input.metrics) {
        const c = compared[m.name];
        const disc = discordance.get(m.name);
        const view = (layer: string, value: SliceComparison): ComparedValue =>
          comparedValue(
            value,
            counts.get(`${m.name}\u0000${layer}`) ?? 0,
            disc ? (disc.get(layer) ?? { n: 0, regressed: 0, improved: 0 }) : undefined,
            extra.get(`${m.name}\u0000${layer}`),
            levels,
          );
        const slices: Record<string, ComparedValue> = {};
        for (const [tag, value] of Object.entries(c.slices ?? {})) slices[tag] = view(tag, value);
        metrics[m.name] = { metric: m.metric, implVersion: m.implVersion, ...view('', c), slices };
      }
      return { seed, examples: tally, metrics };
    },
  };
}

/** Streams both runs once and compares every metric of the suite. */
export async function compareRuns(
  deps: { storage: Storage },
  input: ComparerInput & { candidateRunId: string; baselineRunId: string; shards: number[] },
): Promise<RunComparison> {
  const comparer = createRunComparer(input);
  const tally: PairTally = { paired: 0, candidateOnly: 0, baselineOnly: 0, errored: 0 };
  for await (const pair of pairedExamples(deps, input, undefined, tally)) comparer.add(pair);
  return comparer.finish(tally);
}

function comparedValue(
  c: SliceComparison,
  n: number,
  disc: Discordance | undefined,
  intervals: Record<string, [number, number] | null> | undefined,
  levels: number[],
): ComparedValue {
  const relativeDelta =
    c.delta !== null && c.baseline !== null && c.baseline !== 0 ? c.delta / Math.abs(c.baseline) : null;
  const out: ComparedValue = {
    candidate: c.candidate,
    baseline: c.baseline,
    delta: c.delta,
    relativeDelta,
    deltaCiLow: c.deltaCiLow,
    deltaCiHigh: c.deltaCiHigh,
    ...(c.deltaCiLow !== null ? { intervalMethod: 'paired_bootstrap' as const } : {}),
    pValue: c.pValue,
    pValueMethod: c.pValue === null ? null : 'paired_bootstrap',
    n,
  };
  if (intervals) out.intervals = intervals;
  if (disc) {
    out.regressed = disc.regressed;
    out.improved = disc.improved;
    if (c.delta !== null && disc.n > 0) {
      // Right/wrong outcomes: everything about the delta follows from the discordant counts.
      const counts = { n: disc.n, regressed: disc.regressed, improved: disc.improved };
      [out.deltaCiLow, out.deltaCiHigh] = tangoInterval(counts, 0.95);
      out.intervalMethod = 'tango_score';
      if (levels.length) out.intervals = Object.fromEntries(levels.map((l) => [String(l), tangoInterval(counts, l)]));
      out.pValue = mcnemarExact(disc.regressed, disc.improved);
      out.pValueMethod = 'mcnemar_exact';
      if (c.reason === 'bootstrap_mostly_undefined') delete c.reason;
    }
  }
  if (c.reason) out.reason = c.reason;
  return out;
}

/** Number of examples each metric counted, overall ('' key) and per slice. */
function layerCounts(
  spec: AccumulatorSpec,
  state: ReturnType<ReturnType<typeof createAccumulator>['toJSON']>,
): Map<string, number> {
  const resolved = resolveSpec(spec);
  const { views } = loadAccumulatorViews(resolved, state);
  const out = new Map<string, number>();
  for (const m of resolved.metrics) {
    const view = views.get(m.name);
    if (!view) continue;
    out.set(`${m.name}\u0000`, estimateLayer(m.impl, m.params, view.overall.layer, view.overall.all, 0).n);
    for (const [tag, layer] of view.slices)
      out.set(`${m.name}\u0000${tag}`, estimateLayer(m.impl, m.params, layer.layer, layer.all, 0).n);
  }
  return out;
}

/** Paired-bootstrap delta intervals at other confidence levels, from the same replicates compareAccumulators uses. */
function extraIntervals(
  spec: AccumulatorSpec,
  candidate: Parameters<typeof compareAccumulators>[1],
  baseline: Parameters<typeof compareAccumulators>[2],
  levels: number[],
) {
  const resolved = resolveSpec(spec);
  const cand = loadAccumulatorViews(resolved, candidate);
  const base = loadAccumulatorViews(resolved, baseline);
  const out = new Map<string, Record<string, [number, number] | null>>();
  for (const m of resolved.metrics) {
    const c = cand.views.get(m.name);
    const b = base.views.get(m.name);
    if (!c || !b) continue;
    const layers: [string, typeof c.overall, typeof b.overall][] = [['', c.overall, b.overall]];
    for (const [tag, layer] of c.slices) {
      const other = b.slices.get(tag);
      if (other) layers.push([tag, layer, other]);
    }
    for (const [tag, cl, bl] of layers) {
      const ce = estimateLayer(m.impl, m.params, cl.layer, cl.all, resolved.replicates);
      const be = estimateLayer(m.impl, m.params, bl.layer, bl.all, resolved.replicates);
      const byLevel: Record<string, [number, number] | null> = {};
      for (const level of levels) {
        if (ce.value === null || be.value === null || resolved.replicates === 0) {
          byLevel[String(level)] = null;
          continue;
        }
        const deltas = new Float64Array(resolved.replicates);
        for (let r = 0; r < resolved.replicates; r++) deltas[r] = ce.replicates[r] - be.replicates[r];
        byLevel[String(level)] = percentileInterval(deltas, level);
      }
      out.set(`${m.name}\u0000${tag}`, byLevel);
    }
  }
  return out;
}
