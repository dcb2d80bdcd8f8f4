/**
 * Columnar, replicated metric state.
 *
 * Every feature (counter, real-sum limb, histogram bin, skipped-example count) is a column
 * of B + 1 exact integer sums: slot 0 is the point estimate (every example weighs 1), slots
 * 1..B the Poisson bootstrap replicates. An example's contribution is added to each of its
 * columns as `column[b] += weight[b] * amount` in fused typed-array loops — no per-replicate
 * objects, no per-example allocation. All sums are integers below 2^53, so merging is exact
 * in any order.
 *
 * A `Group` holds the examples of one slice partition (see slices.ts): one shared column of
 * example weights (`all`) and one `MetricLayer` per metric; a metric's n is all - skipped.
 *
 * Score histograms (roc_auc, pr_auc): the point estimate keeps every distinct score exactly
 * (ScoreMultiset, O(distinct scores)); replicates keep HIST_BINS equal-width bins on [0, 1]
 * (scores outside are clamped into the edge bins), allocated lazily. So a replicate's AUC
 * ranks scores only to 1/1024; estimate.ts shifts replicate values by (exact point - binned
 * point), which removes the shared binning bias. Measured against an exact bootstrap with
 * the same weights (n = 300 / 1,500 / 20,000), the interval ends moved by at most 0.25% of
 * the interval's width; the accumulator test pins < 1%.
 */
import type { ColumnBatch, ExampleFeatures } from './features';
import { limbsToReal } from './fixedPoint';
import { ScoreMultiset } from './scoreMultiset';
import type { MetricStats, ScoreHistogram } from './types';

export const HIST_BINS = 1024;

export function histBin(score: number): number {
  if (!(score > 0)) return 0;
  if (score >= 1) return HIST_BINS - 1;
  return Math.floor(score * HIST_BINS);
}

/** Serialised MetricLayer: every array has B + 1 entries; keys are written sorted. */
export interface LayerState {
  skipped?: number[];
  counts: Record<string, number[]>;
  /** real key -> limb index -> column. */
  reals: Record<string, Record<string, number[]>>;
  /** histogram key -> exact distinct scores (ascending) with counts, and bin index -> column. */
  hists: Record<string, { scores: number[]; counts: number[]; bins: Record<string, number[]> }>;
}

interface HistColumns {
  exact: ScoreMultiset;
  bins: Map<number, Float64Array>;
}

function column<K>(map: Map<K, Float64Array>, key: K, width: number): Float64Array {
  let col = map.get(key);
  if (col === undefined) map.set(key, (col = new Float64Array(width)));
  return col;
}

function addColumn(into: Float64Array, from: ArrayLike<number>): void {
  for (let b = 0; b < into.length; b++) into[b] += from[b];
}

const sortedKeys = <K extends string | number>(map: Map<K, unknown>): K[] =>
  [...map.keys()].sort((a, b) => (typeof a === 'number' ? (a as number) - (b as number) : a < b ? -1 : a > b ? 1 : 0));

/** One metric's replicated state within a group. */
export class MetricLayer {
  skipped: Float64Array | undefined;
  readonly counts = new Map<string, Float64Array>();
  readonly reals = new Map<string, Map<number, Float64Array>>();
  readonly hists = new Map<string, HistColumns>();

  constructor(readonly width: number) {}

  private realLimbs(key: string): Map<number, Float64Array> {
    let limbs = this.reals.get(key);
    if (limbs === undefined) this.reals.set(key, (limbs = new Map()));
    return limbs;
  }

  private hist(key: string): HistColumns {
    let hist = this.hists.get(key);
    if (hist === undefined) this.hists.set(key, (hist = { exact: new ScoreMultiset(), bins: new Map() }));
    return hist;
  }

  /** Queue this example's columns (exact scores are recorded immediately). */
  collect(applied: boolean, f: ExampleFeatures, batch: ColumnBatch): void {
    const width = this.width;
    if (!applied) {
      batch.push((this.skipped ??= new Float64Array(width)), 1);
      return;
    }
    for (let i = 0; i < f.nCounts; i++) batch.push(column(this.counts, f.countKeys[i], width), f.countAmounts[i]);
    for (let i = 0; i < f.nReals; i++)
      batch.push(column(this.realLimbs(f.realKeys[i]), f.realLimbs[i], width), f.realDigits[i]);
    for (let i = 0; i < f.nScores; i++) {
      const hist = this.hist(f.scoreKeys[i]);
      hist.exact.add(f.scores[i]);
      batch.push(column(hist.bins, histBin(f.scores[i]), width), 1);
    }
  }

  mergeFrom(other: MetricLayer): void {
    if (other.skipped) addColumn((this.skipped ??= new Float64Array(this.width)), other.skipped);
    for (const [key, col] of other.counts) addColumn(column(this.counts, key, this.width), col);
    for (const [key, limbs] of other.reals) {
      const into = this.realLimbs(key);
      for (const [limb, col] of limbs) addColumn(column(into, limb, this.width), col);
    }
    for (const [key, hist] of other.hists) {
      const into = this.hist(key);
      const { scores, counts } = hist.exact.entries();
      into.exact.addSorted(scores, counts);
      for (const [bin, col] of hist.bins) addColumn(column(into.bins, bin, this.width), col);
    }
  }

  toJSON(): LayerState {
    const state: LayerState = { counts: {}, reals: {}, hists: {} };
    if (this.skipped) state.skipped = Array.from(this.skipped);
    for (const key of sortedKeys(this.counts)) state.counts[key] = Array.from(this.counts.get(key) as Float64Array);
    for (const key of sortedKeys(this.reals)) {
      const limbs = this.reals.get(key) as Map<number, Float64Array>;
      const out: Record<string, number[]> = {};
      for (const limb of sortedKeys(limbs)) out[limb] = Array.from(limbs.get(limb) as Float64Array);
      state.reals[key] = out;
    }
    for (const key of sortedKeys(this.hists)) {
      const hist = this.hists.get(key) as HistColumns;
      const bins: Record<string, number[]> = {};
      for (const bin of sortedKeys(hist.bins)) bins[bin] = Array.from(hist.bins.get(bin) as Float64Array);
      const { scores, counts } = hist.exact.entries();
      state.hists[key] = { scores: Array.from(scores), counts: Array.from(counts), bins };
    }
    return state;
  }

  static fromJSON(state: LayerState, width: number): MetricLayer {
    const layer = new MetricLayer(width);
    const col = (values: number[]): Float64Array => {
      if (values.length !== width) throw new RangeError(`state column has ${values.length} slots, expected ${width}`);
      return Float64Array.from(values);
    };
    if (state.skipped) layer.skipped = col(state.skipped);
    for (const [key, values] of Object.entries(state.counts)) layer.counts.set(key, col(values));
    for (const [key, limbs] of Object.entries(state.reals)) {
      layer.reals.set(key, new Map(Object.entries(limbs).map(([limb, values]) => [Number(limb), col(values)])));
    }
    for (const [key, hist] of Object.entries(state.hists)) {
      const exact = new ScoreMultiset();
      exact.addSorted(hist.scores, hist.counts);
      layer.hists.set(key, {
        exact,
        bins: new Map(Object.entries(hist.bins).map(([bin, values]) => [Number(bin), col(values)])),
      });
    }
    return layer;
  }
}

/** Serialised Group. */
export interface GroupState {
  all: number[];
  /** Aligned with the slice set's metric names. */
  metrics: LayerState[];
}

/** The examples of one slice partition: a shared column of example weights and a layer per metric. */
export class Group {
  all: Float64Array;
  readonly layers: MetricLayer[];

  constructor(
    readonly width: number,
    metrics: number,
  ) {
    this.all = new Float64Array(width);
    this.layers = Array.from({ length: metrics }, () => new MetricLayer(width));
  }

  mergeFrom(other: Group): void {
    addColumn(this.all, other.all);
    this.layers.forEach((layer, i) => layer.mergeFrom(other.layers[i]));
  }

  toJSON(): GroupState {
    return { all: Array.from(this.all), metrics: this.layers.map((l) => l.toJSON()) };
  }

  static fromJSON(state: GroupState, width: number, metrics: number): Group {
    if (state.all.length !== width || state.metrics.length !== metrics)
      throw new RangeError('group state does not match the spec');
    const group = new Group(width, 0);
    group.all = Float64Array.from(state.all);
    group.layers.push(...state.metrics.map((l) => MetricLayer.fromJSON(l, width)));
    return group;
  }
}

/**
 * A MetricStats view of one slot of a metric layer. Set `slot` (0 = point, b = replicate b)
 * and `binned` (histograms from bins instead of exact scores) between `compute` calls.
 */
export class LayerStats implements MetricStats {
  slot = 0;
  binned = false;
  private readonly sortedCounts: string[];
  private readonly sortedHists: string[];
  private readonly realIndex = new Map<string, { limbs: number[]; cols: Float64Array[] }>();
  private readonly binIndex = new Map<string, { bins: number[]; cols: Float64Array[] }>();

  constructor(
    private readonly layer: MetricLayer,
    private readonly all: Float64Array,
  ) {
    this.sortedCounts = sortedKeys(layer.counts);
    this.sortedHists = sortedKeys(layer.hists);
    for (const [key, limbs] of layer.reals) {
      const sorted = sortedKeys(limbs);
      this.realIndex.set(key, { limbs: sorted, cols: sorted.map((l) => limbs.get(l) as Float64Array) });
    }
    for (const [key, hist] of layer.hists) {
      const sorted = sortedKeys(hist.bins);
      this.binIndex.set(key, { bins: sorted, cols: sorted.map((b) => hist.bins.get(b) as Float64Array) });
    }
  }

  n(): number {
    return this.all[this.slot] - (this.layer.skipped ? this.layer.skipped[this.slot] : 0);
  }

  count(key: string): number {
    const col = this.layer.counts.get(key);
    return col === undefined ? 0 : col[this.slot];
  }

  real(key: string): number {
    const index = this.realIndex.get(key);
    if (!index) return 0;
    return limbsToReal(
      index.limbs,
      index.cols.map((c) => c[this.slot]),
    );
  }

  /** Keys with a non-zero total in this slot (a class absent from a replicate is absent). */
  countKeys(): readonly string[] {
    return this.sortedCounts.filter((key) => (this.layer.counts.get(key) as Float64Array)[this.slot] !== 0);
  }

  histKeys(): readonly string[] {
    return this.sortedHists;
  }

  hist(key: string): ScoreHistogram {
    if (!this.binned) {
      const hist = this.layer.hists.get(key);
      if (!hist) return { scores: [], weights: [] };
      const { scores, counts } = hist.exact.entries();
      return { scores, weights: counts };
    }
    const index = this.binIndex.get(key);
    const scores: number[] = [];
    const weights: number[] = [];
    if (index) {
      for (let i = 0; i < index.bins.length; i++) {
        const w = index.cols[i][this.slot];
        if (w > 0) {
          scores.push(index.bins[i]);
          weights.push(w);
        }
      }
    }
    return { scores, weights };
  }
}
