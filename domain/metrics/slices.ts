/**
 * Slices, stored as a partition so that most examples update one group, not two.
 *
 * A slice set (all metrics sharing one `slices` config) keeps:
 *   - single[t]: examples whose only kept tag is t;
 *   - extra[t]:  copies of examples that carry t among two or more kept tags;
 *   - rest:      every other example (no kept tag, or several kept tags).
 * Then overall = rest + sum_t single[t] and slice t = single[t] + extra[t]; an example with
 * at most one kept tag is added once. Sums are exact integers, so any decomposition of the
 * same examples gives bit-identical results.
 *
 * Kept tags: with explicit `slices`, exactly those. Otherwise every tag seen, up to
 * MAX_AUTO_SLICES; past the cap the lexicographically smallest tags are kept (an evicted
 * tag's single group folds into rest, its extra group is dropped) and the set reports
 * `truncated`. The rule is merge-safe: a tag kept after merging has fewer than the cap
 * smaller tags anywhere, so no shard ever evicted it.
 */
import { Group, type GroupState, MetricLayer } from './layer';

export const MAX_AUTO_SLICES = 200;

export interface SliceSetState {
  /** Metric names in this set, in spec order. */
  metrics: string[];
  /** Explicit slices (sorted), or null for every tag seen. */
  slices: string[] | null;
  truncated: boolean;
  rest: GroupState;
  single: Record<string, GroupState>;
  extra: Record<string, GroupState>;
}

export class SliceSet {
  rest: Group;
  readonly single = new Map<string, Group>();
  readonly extra = new Map<string, Group>();
  truncated = false;
  private readonly explicit: ReadonlySet<string> | null;
  private readonly kept = new Set<string>();
  private largestKept: string | undefined;
  private readonly keptScratch: string[] = [];

  constructor(
    readonly metricNames: readonly string[],
    readonly slices: readonly string[] | null,
    readonly width: number,
  ) {
    this.rest = new Group(width, metricNames.length);
    this.explicit = slices ? new Set(slices) : null;
  }

  private group(map: Map<string, Group>, tag: string): Group {
    let g = map.get(tag);
    if (g === undefined) map.set(tag, (g = new Group(this.width, this.metricNames.length)));
    return g;
  }

  /** Write the groups an example with these tags belongs to into `out`; returns how many. */
  targets(tags: readonly string[], out: Group[]): number {
    const kept = this.keptScratch;
    kept.length = 0;
    if (this.explicit === null) for (const tag of tags) this.admit(tag);
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i];
      if ((this.explicit ? this.explicit.has(tag) : this.kept.has(tag)) && kept.indexOf(tag) < 0) kept.push(tag);
    }
    if (kept.length === 0) {
      out[0] = this.rest;
      return 1;
    }
    if (kept.length === 1) {
      out[0] = this.group(this.single, kept[0]);
      return 1;
    }
    out[0] = this.rest;
    for (let i = 0; i < kept.length; i++) out[i + 1] = this.group(this.extra, kept[i]);
    return kept.length + 1;
  }

  private admit(tag: string): void {
    if (this.kept.has(tag)) return;
    if (this.kept.size >= MAX_AUTO_SLICES) {
      this.truncated = true;
      this.largestKept ??= [...this.kept].reduce((a, b) => (b > a ? b : a));
      if (tag > this.largestKept) return;
      this.evict(this.largestKept);
    }
    this.kept.add(tag);
  }

  private evict(tag: string): void {
    this.kept.delete(tag);
    const single = this.single.get(tag);
    if (single) this.rest.mergeFrom(single);
    this.single.delete(tag);
    this.extra.delete(tag);
    this.largestKept = undefined;
  }

  mergeFrom(other: SliceSet): void {
    this.rest.mergeFrom(other.rest);
    for (const [tag, g] of other.single) this.group(this.single, tag).mergeFrom(g);
    for (const [tag, g] of other.extra) this.group(this.extra, tag).mergeFrom(g);
    for (const tag of other.kept) this.kept.add(tag);
    this.truncated ||= other.truncated;
    if (this.explicit === null && this.kept.size > MAX_AUTO_SLICES) {
      for (const tag of [...this.kept].sort().slice(MAX_AUTO_SLICES)) this.evict(tag);
      this.truncated = true;
    }
    this.largestKept = undefined;
  }

  /** Slice tags to report: the explicit list, or the kept tags, sorted. */
  sliceTags(): string[] {
    return this.slices ? [...this.slices] : [...this.kept].sort();
  }

  /** The summed layer and example-weight column of metric `position`, overall or for one tag. */
  view(position: number, tag?: string): { layer: MetricLayer; all: Float64Array } {
    const parts =
      tag === undefined ? [this.rest, ...this.single.values()] : [this.single.get(tag), this.extra.get(tag)];
    const layer = new MetricLayer(this.width);
    const all = new Float64Array(this.width);
    for (const g of parts) {
      if (!g) continue;
      layer.mergeFrom(g.layers[position]);
      for (let b = 0; b < all.length; b++) all[b] += g.all[b];
    }
    return { layer, all };
  }

  toJSON(): SliceSetState {
    const groups = (map: Map<string, Group>): Record<string, GroupState> => {
      const out: Record<string, GroupState> = {};
      for (const tag of [...map.keys()].sort()) out[tag] = (map.get(tag) as Group).toJSON();
      return out;
    };
    return {
      metrics: [...this.metricNames],
      slices: this.slices ? [...this.slices] : null,
      truncated: this.truncated,
      rest: this.rest.toJSON(),
      single: groups(this.single),
      extra: groups(this.extra),
    };
  }

  static fromJSON(
    state: SliceSetState,
    metricNames: readonly string[],
    slices: readonly string[] | null,
    width: number,
  ): SliceSet {
    const set = new SliceSet(metricNames, slices, width);
    const m = metricNames.length;
    set.rest = Group.fromJSON(state.rest, width, m);
    for (const [tag, g] of Object.entries(state.single)) set.single.set(tag, Group.fromJSON(g, width, m));
    for (const [tag, g] of Object.entries(state.extra)) set.extra.set(tag, Group.fromJSON(g, width, m));
    if (!slices) for (const tag of [...set.single.keys(), ...set.extra.keys()]) set.kept.add(tag);
    set.truncated = state.truncated;
    return set;
  }
}
