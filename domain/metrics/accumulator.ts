/**
 * The run accumulator: all of a suite's metrics, overall and per slice, with Poisson
 * bootstrap replicates, as one JSON-serialisable, exactly mergeable state.
 *
 * A shard activity creates an accumulator from the suite spec, `add`s its examples and
 * stores `toJSON()`; the final step calls `mergeAccumulatorStates` then
 * `finalizeAccumulator`. Any partition of the examples into shards, in any order, gives
 * bit-identical results (and, below the auto-slice cap, byte-identical merged states):
 * replicate weights come from hash(seed, id) (bootstrap.ts) and every sum is an exact
 * integer (layer.ts, fixedPoint.ts).
 *
 * Slices (slices.ts): a metric with `slices` keeps exactly those tags (a tag with no
 * examples reports value null, reason "no_examples"); without, every tag seen up to
 * MAX_AUTO_SLICES (then the lexicographically smallest, and `slicesTruncated`). Metrics
 * with the same slices config share a SliceSet, whose groups share one example-weight column.
 *
 * Memory: O(slices x features x (replicates + 1)) numbers, where features are a handful per
 * metric, classes^2 for confusion metrics, 3 per ECE bin, and up to 2 x 1024 histogram bins
 * per class for AUC-type metrics — plus the exact score multiset of AUC-type metrics
 * (16 bytes per distinct score), the only part that grows with n.
 */
import { z } from 'zod';
import { fillPoissonWeights, type SeedState, seedState } from './bootstrap';
import { estimateLayer } from './estimate';
import { ColumnBatch, ExampleFeatures } from './features';
import type { Group, MetricLayer } from './layer';
import { getMetricImpl, isMetricId } from './registry';
import { SliceSet, type SliceSetState } from './slices';
import {
  AccumulatorMismatchError,
  type AnyMetricImpl,
  InvalidMetricParamsError,
  InvalidMetricSpecError,
  type MetricExample,
  type MetricId,
  UnknownMetricError,
} from './types';

export const ACCUMULATOR_FORMAT = 'evalgate.metrics.accumulator/1';
export const DEFAULT_REPLICATES = 200;
export { MAX_AUTO_SLICES } from './slices';

export interface MetricSpec {
  /** The suite's label for this metric; keys the results. */
  name: string;
  metric: MetricId;
  params?: unknown;
  slices?: string[];
  /** Default: the latest implementation. */
  implVersion?: string;
}

export interface AccumulatorSpec {
  metrics: MetricSpec[];
  seed: string;
  /** Bootstrap replicates; default 200, 0 = no intervals. */
  replicates?: number;
}

/** What produced a metric's state; merging refuses states that differ in any of it. */
export interface MetricIdentity {
  metric: MetricId;
  implVersion: string;
  /** Parsed params (defaults applied). */
  params: unknown;
}

export interface AccumulatorState {
  format: typeof ACCUMULATOR_FORMAT;
  seed: string;
  replicates: number;
  /** Examples added (whether or not a metric used them). */
  examples: number;
  /** Sum mod 2^32 of hash(seed, id) over examples: with `examples`, fingerprints the example set. */
  exampleDigest: number;
  metrics: Record<string, MetricIdentity>;
  sliceSets: SliceSetState[];
}

export interface SliceResult {
  value: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  n: number;
  reason?: string;
}

export interface MetricResult extends SliceResult {
  implVersion: string;
  slices?: Record<string, SliceResult>;
  slicesTruncated?: true;
}

export interface MetricAccumulator {
  add(ex: MetricExample): void;
  toJSON(): AccumulatorState;
}

const specSchema = z.object({
  metrics: z
    .array(
      z.object({
        name: z.string().min(1),
        metric: z.string(),
        params: z.unknown().optional(),
        slices: z.array(z.string()).optional(),
        implVersion: z.string().optional(),
      }),
    )
    .refine((ms) => new Set(ms.map((m) => m.name)).size === ms.length, { message: 'metric names must be unique' }),
  seed: z.string(),
  replicates: z.number().int().min(0).max(10000).default(DEFAULT_REPLICATES),
});

export interface ResolvedMetric {
  name: string;
  metric: MetricId;
  impl: AnyMetricImpl;
  params: unknown;
  slices: readonly string[] | null;
}

export interface ResolvedSpec {
  seed: string;
  replicates: number;
  metrics: ResolvedMetric[];
}

/** Validate a spec: metric ids, implementation versions and params (throws typed errors). */
export function resolveSpec(spec: AccumulatorSpec): ResolvedSpec {
  const result = specSchema.safeParse(spec);
  if (!result.success)
    throw new InvalidMetricSpecError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const parsed = result.data;
  const metrics = parsed.metrics.map((m): ResolvedMetric => {
    if (!isMetricId(m.metric)) throw new UnknownMetricError(m.metric);
    const impl = getMetricImpl(m.metric, m.implVersion);
    const params = impl.params.safeParse(m.params ?? {});
    if (!params.success)
      throw new InvalidMetricParamsError(m.name, params.error.issues.map((i) => i.message).join('; '));
    return {
      name: m.name,
      metric: m.metric,
      impl,
      params: params.data,
      slices: m.slices ? [...new Set(m.slices)].sort() : null,
    };
  });
  return { seed: parsed.seed, replicates: parsed.replicates, metrics };
}

/** Metrics grouped by slice config: each group of metrics shares one SliceSet. */
interface SetPlan {
  slices: readonly string[] | null;
  metrics: ResolvedMetric[];
}

function planSliceSets(spec: ResolvedSpec): SetPlan[] {
  const plans = new Map<string, SetPlan>();
  for (const m of spec.metrics) {
    const key = m.slices ? JSON.stringify(m.slices) : '*';
    let plan = plans.get(key);
    if (!plan) plans.set(key, (plan = { slices: m.slices, metrics: [] }));
    plan.metrics.push(m);
  }
  return [...plans.values()];
}

class RunAccumulator implements MetricAccumulator {
  private readonly weights: Float64Array;
  private readonly features = new ExampleFeatures();
  private readonly batch = new ColumnBatch();
  private readonly targets: Group[] = [];
  private readonly seed: SeedState;
  examples = 0;
  digest = 0;

  constructor(
    readonly spec: ResolvedSpec,
    readonly plans: SetPlan[],
    readonly sets: SliceSet[],
  ) {
    this.weights = new Float64Array(spec.replicates + 1);
    this.seed = seedState(spec.seed);
  }

  static create(spec: ResolvedSpec): RunAccumulator {
    const plans = planSliceSets(spec);
    const width = spec.replicates + 1;
    return new RunAccumulator(
      spec,
      plans,
      plans.map(
        (p) =>
          new SliceSet(
            p.metrics.map((m) => m.name),
            p.slices,
            width,
          ),
      ),
    );
  }

  add(ex: MetricExample): void {
    const weights = this.weights;
    const hash = fillPoissonWeights(this.seed, ex.id, weights);
    this.examples++;
    this.digest = (this.digest + hash) % 4294967296;
    const { features, batch, targets } = this;
    for (let s = 0; s < this.sets.length; s++) {
      const nTargets = this.sets[s].targets(ex.tags, targets);
      for (let t = 0; t < nTargets; t++) batch.push(targets[t].all, 1);
      const metrics = this.plans[s].metrics;
      for (let p = 0; p < metrics.length; p++) {
        features.reset();
        const applied = metrics[p].impl.observe(ex, metrics[p].params, features);
        for (let t = 0; t < nTargets; t++) targets[t].layers[p].collect(applied, features, batch);
      }
      batch.flush(weights);
    }
  }

  toJSON(): AccumulatorState {
    const metrics: Record<string, MetricIdentity> = {};
    for (const m of this.spec.metrics)
      metrics[m.name] = { metric: m.metric, implVersion: m.impl.version, params: m.params };
    const { seed, replicates } = this.spec;
    return {
      format: ACCUMULATOR_FORMAT,
      seed,
      replicates,
      examples: this.examples,
      exampleDigest: this.digest,
      metrics,
      sliceSets: this.sets.map((set) => set.toJSON()),
    };
  }

  static fromJSON(spec: ResolvedSpec, state: AccumulatorState): RunAccumulator {
    if (state.format !== ACCUMULATOR_FORMAT)
      throw new AccumulatorMismatchError(`unknown accumulator state format "${String(state.format)}"`);
    if (state.seed !== spec.seed || state.replicates !== spec.replicates) {
      throw new AccumulatorMismatchError('accumulator state was made with another seed or replicate count');
    }
    for (const m of spec.metrics) {
      const recorded = state.metrics[m.name];
      if (!recorded) throw new AccumulatorMismatchError(`state has no metric "${m.name}"`);
      if (recorded.metric !== m.metric || recorded.implVersion !== m.impl.version) {
        throw new AccumulatorMismatchError(
          `metric "${m.name}" is ${recorded.metric}@${recorded.implVersion} in the state, ${m.metric}@${m.impl.version} in the spec`,
        );
      }
      if (JSON.stringify(recorded.params) !== JSON.stringify(m.params))
        throw new AccumulatorMismatchError(`metric "${m.name}" was accumulated with other params`);
    }
    const plans = planSliceSets(spec);
    const width = spec.replicates + 1;
    if (state.sliceSets.length !== plans.length)
      throw new AccumulatorMismatchError('state slice sets do not match the spec');
    const sets = plans.map((plan, i) => {
      const names = plan.metrics.map((m) => m.name);
      const recorded = state.sliceSets[i];
      if (
        JSON.stringify(recorded.metrics) !== JSON.stringify(names) ||
        JSON.stringify(recorded.slices) !== JSON.stringify(plan.slices)
      ) {
        throw new AccumulatorMismatchError('state slice sets do not match the spec');
      }
      return SliceSet.fromJSON(recorded, names, plan.slices, width);
    });
    const acc = new RunAccumulator(spec, plans, sets);
    acc.examples = state.examples;
    acc.digest = state.exampleDigest;
    return acc;
  }

  mergeFrom(other: RunAccumulator): void {
    this.examples += other.examples;
    this.digest = (this.digest + other.digest) % 4294967296;
    this.sets.forEach((set, i) => set.mergeFrom(other.sets[i]));
  }

  /** Each metric's summed layers: overall and per reported slice tag. */
  *metricViews(): Generator<{
    metric: ResolvedMetric;
    overall: LayerView;
    slices: Map<string, LayerView>;
    truncated: boolean;
  }> {
    for (let s = 0; s < this.sets.length; s++) {
      const set = this.sets[s];
      const tags = set.sliceTags();
      for (let p = 0; p < this.plans[s].metrics.length; p++) {
        const slices = new Map(tags.map((tag) => [tag, set.view(p, tag)]));
        yield { metric: this.plans[s].metrics[p], overall: set.view(p), slices, truncated: set.truncated };
      }
    }
  }
}

type LayerView = { layer: MetricLayer; all: Float64Array };

export function createAccumulator(spec: AccumulatorSpec): MetricAccumulator {
  return RunAccumulator.create(resolveSpec(spec));
}

/** Merge shard states (any number, any order) into one state; exact. */
export function mergeAccumulatorStates(spec: AccumulatorSpec, states: readonly AccumulatorState[]): AccumulatorState {
  const resolved = resolveSpec(spec);
  const merged = RunAccumulator.create(resolved);
  for (const state of states) merged.mergeFrom(RunAccumulator.fromJSON(resolved, state));
  return merged.toJSON();
}

/** Per-metric point values with 95% percentile bootstrap intervals, overall and per slice. */
export function finalizeAccumulator(spec: AccumulatorSpec, state: AccumulatorState): Record<string, MetricResult> {
  const resolved = resolveSpec(spec);
  const results: Record<string, MetricResult> = {};
  for (const { metric, overall, slices, truncated } of RunAccumulator.fromJSON(resolved, state).metricViews()) {
    const { impl, params } = metric;
    const result: MetricResult = {
      ...sliceResult(impl, params, overall, resolved.replicates),
      implVersion: impl.version,
    };
    if (slices.size > 0) {
      result.slices = {};
      for (const [tag, view] of slices) result.slices[tag] = sliceResult(impl, params, view, resolved.replicates);
    }
    if (truncated) result.slicesTruncated = true;
    results[metric.name] = result;
  }
  // Report in spec order.
  return Object.fromEntries(resolved.metrics.map((m) => [m.name, results[m.name]]));
}

function sliceResult(impl: AnyMetricImpl, params: unknown, view: LayerView, replicates: number): SliceResult {
  const { value, ciLow, ciHigh, n, reason } = estimateLayer(impl, params, view.layer, view.all, replicates);
  return reason === undefined ? { value, ciLow, ciHigh, n } : { value, ciLow, ciHigh, n, reason };
}

/** Internal (compare.ts): a state decoded into per-metric summed layers. */
export function loadAccumulatorViews(spec: ResolvedSpec, state: AccumulatorState) {
  const acc = RunAccumulator.fromJSON(spec, state);
  const views = new Map([...acc.metricViews()].map((v) => [v.metric.name, v]));
  return { views, examples: acc.examples, digest: acc.digest };
}
