/**
 * Types of the metrics library: pure, deterministic, mergeable, versioned metric
 * implementations.
 *
 * A metric is split into two pure halves so that the eval runner can compute it
 * streaming, in shards, with bootstrap replicates, and merge exactly:
 *   - `observe(example)` says whether the example applies (it is then counted in n) and
 *     emits its *additive contribution* as features (integer counters, reals,
 *     score-histogram entries) into a FeatureSink;
 *   - `compute(stats)` turns the summed features into the metric value.
 * Because every state is a sum of per-example contributions, a state can be
 * weighted (Poisson bootstrap), merged in any order, and serialised as JSON.
 * Integer counters are exact; reals are summed exactly in fixed point (see
 * fixedPoint.ts), so a merged result never depends on shard split or order.
 *
 * `init/update/merge/finalize` (the per-metric state API) are derived from
 * observe/compute by `defineMetric` (state.ts).
 */
import type { z } from 'zod';

export type TaskType = 'classification' | 'ranking' | 'retrieval' | 'generation' | 'regression';

export const METRIC_IDS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'pr_auc',
  'log_loss',
  'brier',
  'ece',
  'ndcg',
  'mrr',
  'recall_at_k',
  'precision_at_k',
  'map',
  'exact_match',
  'token_f1',
  'rouge_l',
  'bleu',
  'judge_score',
  'mae',
  'rmse',
] as const;
export type MetricId = (typeof METRIC_IDS)[number];

/** One scored example as the runner hands it over: ground truth from the dataset row + the model's prediction. */
export interface MetricExample {
  id: string;
  tags: string[];
  /** Classification truth. */
  label?: string;
  /** Regression truth. */
  target?: number;
  /** Ranking/retrieval graded relevance by document id; a document is relevant when its grade > 0. */
  relevance?: Record<string, number>;
  /** Generation reference. */
  reference?: string;
  prediction: { label?: string; scores?: Record<string, number>; ranking?: string[]; output?: string; value?: number };
  /** Generation: the judge's score normalised to [0,1]; absent when the judge failed (the example is skipped). */
  judgeScore?: number;
}

/** A metric value; never NaN. `value` is null, with a reason, when the metric is undefined on the data. */
export interface MetricOutcome {
  value: number | null;
  /** Number of examples that contributed (unweighted). */
  n: number;
  reason?: string;
}

/** Where `observe` writes an example's additive contribution. */
export interface FeatureSink {
  /** Add an integer amount to a named counter (summed exactly). */
  count(key: string, amount: number): void;
  /** Add a finite real to a named sum (quantised to >= 32 significant bits, then summed exactly). */
  real(key: string, value: number): void;
  /**
   * Add one observation of `score` to a named score histogram. The point estimate sees
   * every distinct score exactly; bootstrap replicates see a binned histogram (see layer.ts).
   */
  score(key: string, score: number): void;
}

/** A score histogram in ascending score order; weights are > 0. */
export interface ScoreHistogram {
  readonly scores: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
}

/** Summed features as `compute` reads them. Absent keys read as 0 / empty. */
export interface MetricStats {
  /** (Weighted) number of examples `observe` accepted. */
  n(): number;
  count(key: string): number;
  real(key: string): number;
  /** Counter keys present, sorted (so iteration order never depends on arrival order). */
  countKeys(): readonly string[];
  /** Histogram keys present, sorted. */
  histKeys(): readonly string[];
  hist(key: string): ScoreHistogram;
}

/** Plain JSON state of one metric (the per-metric API; the run accumulator uses a columnar form). */
export interface MetricState {
  /** Weighted number of examples `observe` accepted. */
  n: number;
  counts: Record<string, number>;
  /** real key -> fixed-point limb index -> exact integer sum of digits. */
  reals: Record<string, Record<string, number>>;
  /** histogram key -> String(score) -> weight. */
  hists: Record<string, Record<string, number>>;
}

/** What a metric module defines. */
export interface MetricDefinition<P, Id extends MetricId = MetricId> {
  readonly id: Id;
  /** Semver of this implementation; a changed number changes a result's lineage. */
  readonly version: string;
  readonly taskTypes: readonly TaskType[];
  /** Validates the suite's params; the parsed output (defaults applied) is what observe/compute get. */
  readonly params: z.ZodType<P>;
  /** Range of the value, used to clamp bias-shifted bootstrap replicates (AUC-type metrics). */
  readonly range?: readonly [number, number];
  /**
   * Emit the example's additive contribution and return true, or return false (emitting
   * nothing) when the example does not apply to this metric (it is then not counted in n). Pure.
   */
  observe(ex: MetricExample, params: P, out: FeatureSink): boolean;
  /** The metric from summed contributions. Pure; must iterate keys in the sorted order given. */
  compute(stats: MetricStats, params: P): MetricOutcome;
}

/** A metric implementation: the definition plus the derived per-metric state API. */
export interface MetricImpl<P, Id extends MetricId = MetricId> extends MetricDefinition<P, Id> {
  /** Fresh JSON-serialisable state. */
  init(params: P): MetricState;
  /** Add one example with an integer weight >= 0 (Poisson bootstrap); mutates `state`. */
  update(state: MetricState, ex: MetricExample, params: P, weight: number): void;
  /** Add `from` into `into`; exact, so merge order never changes a result. */
  merge(into: MetricState, from: MetricState, params: P): void;
  finalize(state: MetricState, params: P): MetricOutcome;
}

/** Registry element type; params are validated by `impl.params` before use, hence `any`. */
export type AnyMetricImpl<Id extends MetricId = MetricId> = MetricImpl<any, Id>;

/** Base of the library's errors: a stable `code` the API maps to an error response. */
export class MetricsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnknownMetricError extends MetricsError {
  constructor(readonly metric: string) {
    super('unknown_metric', `unknown metric id "${metric}"`);
  }
}

export class UnknownMetricVersionError extends MetricsError {
  constructor(
    readonly metric: MetricId,
    readonly version: string,
    readonly known: readonly string[],
  ) {
    super(
      'unknown_metric_impl_version',
      `metric "${metric}" has no implementation version "${version}" (known: ${known.join(', ')})`,
    );
  }
}

export class InvalidMetricParamsError extends MetricsError {
  constructor(
    readonly metricName: string,
    detail: string,
  ) {
    super('invalid_metric_params', `invalid params for metric "${metricName}": ${detail}`);
  }
}

export class InvalidMetricSpecError extends MetricsError {
  constructor(detail: string) {
    super('invalid_metric_spec', `invalid metric spec: ${detail}`);
  }
}

/** Accumulator states that cannot be merged or compared (different seed, spec, versions, examples). */
export class AccumulatorMismatchError extends MetricsError {
  constructor(detail: string) {
    super('accumulator_state_mismatch', detail);
  }
}
