/** The run accumulator: agreement with the per-metric API, shard invariance, bootstrap intervals, slices. */
import {
  AccumulatorMismatchError,
  type AccumulatorSpec,
  type AccumulatorState,
  createAccumulator,
  finalizeAccumulator,
  getMetricImpl,
  InvalidMetricParamsError,
  InvalidMetricSpecError,
  MAX_AUTO_SLICES,
  type MetricExample,
  mergeAccumulatorStates,
  UnknownMetricError,
} from '../../../domain/metrics';
import { fillPoissonWeights, seedState } from '../../../domain/metrics/bootstrap';
import { rng, score, shuffle } from './helpers';

const TAGS = ['en', 'de', 'fr', 'ja'];

/** Mixed examples: every task type's fields, 0-2 tags, some judge errors and skips. */
function mixedExamples(n: number, seed: number): MetricExample[] {
  const random = rng(seed);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'far'];
  const sentence = (len: number) =>
    Array.from({ length: len }, () => words[Math.floor(random() * words.length)]).join(' ');
  return Array.from({ length: n }, (_, i) => {
    const label = ['a', 'b', 'c'][Math.floor(random() * 3)];
    const raw = { a: random() + (label === 'a' ? 0.5 : 0), b: random() + (label === 'b' ? 0.5 : 0), c: random() };
    const sum = raw.a + raw.b + raw.c;
    const scores = { a: raw.a / sum, b: raw.b / sum, c: raw.c / sum };
    const r = random();
    const tags =
      r < 0.1 ? [] : r < 0.3 ? [TAGS[i % 4], TAGS[(i + 1) % 4]] : r < 0.35 ? [TAGS[i % 4], TAGS[i % 4]] : [TAGS[i % 4]];
    const docs = ['d1', 'd2', 'd3', 'd4', 'd5'];
    return {
      id: `ex-${i}`,
      tags,
      label,
      target: random() * 10,
      relevance: { d1: Math.floor(random() * 3), d2: Math.floor(random() * 2), d4: 1 },
      reference: sentence(6),
      judgeScore: random() < 0.1 ? undefined : Math.round(random() * 4) / 4,
      prediction: {
        label: random() < 0.8 ? label : 'b',
        scores,
        ranking: shuffle(docs, random).slice(0, 4),
        output: random() < 0.05 ? undefined : sentence(5),
        value: random() * 10,
      },
    };
  });
}

const ALL_METRICS: AccumulatorSpec['metrics'] = [
  { name: 'acc', metric: 'accuracy' },
  { name: 'prec', metric: 'precision', params: { average: 'weighted' } },
  { name: 'rec', metric: 'recall', params: { positiveLabel: 'a' } },
  { name: 'f1', metric: 'f1', params: { average: 'macro' } },
  { name: 'auc', metric: 'roc_auc' },
  { name: 'auc_a', metric: 'roc_auc', params: { positiveLabel: 'a' } },
  { name: 'ap', metric: 'pr_auc', params: { positiveLabel: 'b' } },
  { name: 'll', metric: 'log_loss' },
  { name: 'brier', metric: 'brier', params: { positiveLabel: 'a' } },
  { name: 'ece', metric: 'ece', params: { bins: 5 } },
  { name: 'ndcg', metric: 'ndcg', params: { k: 3 } },
  { name: 'mrr', metric: 'mrr' },
  { name: 'r@2', metric: 'recall_at_k', params: { k: 2 } },
  { name: 'p@3', metric: 'precision_at_k', params: { k: 3 } },
  { name: 'map', metric: 'map' },
  { name: 'em', metric: 'exact_match' },
  { name: 'tf1', metric: 'token_f1' },
  { name: 'rl', metric: 'rouge_l' },
  { name: 'bleu', metric: 'bleu' },
  { name: 'judge', metric: 'judge_score' },
  { name: 'mae', metric: 'mae' },
  { name: 'rmse', metric: 'rmse', slices: ['de', 'xx'] },
];
const spec = (overrides: Partial<AccumulatorSpec> = {}): AccumulatorSpec => ({
  seed: 'seed-1',
  replicates: 50,
  metrics: ALL_METRICS,
  ...overrides,
});

function accumulate(s: AccumulatorSpec, examples: readonly MetricExample[]): AccumulatorState {
  const acc = createAccumulator(s);
  for (const ex of examples) acc.add(ex);
  return acc.toJSON();
}

/** Shuffle, cut into `shards` random-sized parts, accumulate each, merge in a random tree order. */
function shardAndMerge(
  s: AccumulatorSpec,
  examples: readonly MetricExample[],
  shards: number,
  seed: number,
): AccumulatorState {
  const random = rng(seed);
  const order = shuffle(examples, random);
  const cuts = [
    0,
    ...Array.from({ length: shards - 1 }, () => Math.floor(random() * order.length)).sort((a, b) => a - b),
    order.length,
  ];
  let states = cuts.slice(1).map((end, i) => accumulate(s, order.slice(cuts[i], end)));
  states = states.map((st) => JSON.parse(JSON.stringify(st))); // shards travel as JSON via S3
  while (states.length > 1) {
    const [a, b, ...rest] = shuffle(states, random);
    states = [mergeAccumulatorStates(s, [a, b]), ...rest];
  }
  return states[0];
}

describe('createAccumulator', () => {
  const examples = mixedExamples(300, 7);

  it('agrees exactly with each metric run through its own state API', () => {
    const results = finalizeAccumulator(spec(), accumulate(spec(), examples));
    for (const m of ALL_METRICS) {
      const expected = score(m.metric, m.params, examples);
      expect({ name: m.name, value: results[m.name].value, n: results[m.name].n }).toEqual({
        name: m.name,
        value: expected.value,
        n: expected.n,
      });
      expect(results[m.name].implVersion).toBe(getMetricImpl(m.metric).version);
    }
  });

  it('gives bit-identical states and results however examples are sharded and ordered', () => {
    const s = spec();
    const single = accumulate(s, examples);
    const reference = JSON.stringify(finalizeAccumulator(s, single));
    for (const [shards, seed] of [
      [1, 1],
      [3, 2],
      [7, 3],
      [20, 4],
    ]) {
      const merged = shardAndMerge(s, examples, shards, seed);
      expect(JSON.stringify(merged)).toBe(JSON.stringify(single));
      expect(JSON.stringify(finalizeAccumulator(s, merged))).toBe(reference);
    }
  });

  it('reports slices: every tag seen, or exactly the listed ones', () => {
    const results = finalizeAccumulator(spec(), accumulate(spec(), examples));
    expect(Object.keys(results.acc.slices ?? {})).toEqual([...TAGS].sort());
    expect(Object.keys(results.rmse.slices ?? {})).toEqual(['de', 'xx']);
    expect(results.rmse.slices?.xx).toEqual({ value: null, ciLow: null, ciHigh: null, n: 0, reason: 'no_examples' });
    // a slice equals the metric computed on exactly its examples; a repeated tag counts once
    const de = examples.filter((ex) => ex.tags.includes('de'));
    expect(results.acc.slices?.de.value).toBe(score('accuracy', {}, de).value);
    expect(results.acc.slices?.de.n).toBe(de.length);
    expect(results.acc.n).toBe(examples.length);
  });

  it('keeps the lexicographically smallest tags past the cap, identically for any sharding', () => {
    const s: AccumulatorSpec = { seed: 'cap', replicates: 5, metrics: [{ name: 'acc', metric: 'accuracy' }] };
    const many = Array.from({ length: 3 * (MAX_AUTO_SLICES + 20) }, (_, i) => ({
      id: `c${i}`,
      tags: [`tag-${String(i % (MAX_AUTO_SLICES + 20)).padStart(3, '0')}`],
      label: 'x',
      prediction: { label: i % 3 === 0 ? 'y' : 'x' },
    }));
    const whole = finalizeAccumulator(s, accumulate(s, many));
    expect(whole.acc.slicesTruncated).toBe(true);
    expect(Object.keys(whole.acc.slices ?? {})).toHaveLength(MAX_AUTO_SLICES);
    expect(Object.keys(whole.acc.slices ?? {}).at(-1)).toBe(`tag-${MAX_AUTO_SLICES - 1}`);
    expect(whole.acc.n).toBe(many.length);
    const sharded = finalizeAccumulator(s, shardAndMerge(s, [...many].reverse(), 5, 9));
    expect(JSON.stringify(sharded)).toBe(JSON.stringify(whole));
  });

  it('returns null, never NaN, on empty input', () => {
    const results = finalizeAccumulator(spec(), createAccumulator(spec()).toJSON());
    for (const m of ALL_METRICS)
      expect(results[m.name]).toMatchObject({ value: null, ciLow: null, ciHigh: null, n: 0, reason: 'no_examples' });
    expect(finalizeAccumulator(spec(), mergeAccumulatorStates(spec(), [])).acc.value).toBeNull();
  });
});

describe('bootstrap intervals', () => {
  const s: AccumulatorSpec = {
    seed: 'ci',
    metrics: [
      { name: 'acc', metric: 'accuracy' },
      { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'a' } },
      { name: 'll', metric: 'log_loss' },
    ],
  };

  it('uses 200 replicates by default and contains the point value', () => {
    const state = accumulate(s, mixedExamples(500, 1));
    expect(state.replicates).toBe(200);
    for (const r of Object.values(finalizeAccumulator(s, state))) {
      expect(r.ciLow as number).toBeLessThanOrEqual(r.value as number);
      expect(r.ciHigh as number).toBeGreaterThanOrEqual(r.value as number);
      expect(r.ciHigh as number).toBeGreaterThan(r.ciLow as number);
    }
  });

  it('is reproducible for a seed and changes with the seed', () => {
    const examples = mixedExamples(400, 2);
    const a = finalizeAccumulator(s, accumulate(s, examples));
    const b = finalizeAccumulator(s, accumulate(s, examples));
    const other = { ...s, seed: 'another' };
    const c = finalizeAccumulator(other, accumulate(other, examples));
    expect(b).toEqual(a);
    expect(c.acc.value).toBe(a.acc.value);
    expect([c.acc.ciLow, c.acc.ciHigh]).not.toEqual([a.acc.ciLow, a.acc.ciHigh]);
  });

  it('narrows as n grows (about 1/sqrt(n))', () => {
    const width = (n: number) => {
      const r = finalizeAccumulator(s, accumulate(s, mixedExamples(n, 3))).acc;
      return (r.ciHigh as number) - (r.ciLow as number);
    };
    const small = width(200);
    const large = width(5000);
    expect(large).toBeLessThan(small / 3);
    expect(large).toBeGreaterThan(small / 8);
  });

  it('puts a binned-AUC interval within 1% of its width of the exact bootstrap', () => {
    // Exact bootstrap: replicate b = roc_auc over exact scores with the accumulator's own
    // Poisson weights, via the per-metric state API (O(n) per replicate; test-only).
    const examples = mixedExamples(1500, 4);
    const B = 200;
    const impl = getMetricImpl('roc_auc');
    const params = impl.params.parse({ positiveLabel: 'a' });
    const states = Array.from({ length: B }, () => impl.init(params));
    const w = new Float64Array(B + 1);
    const seed = seedState('ci');
    for (const ex of examples) {
      fillPoissonWeights(seed, ex.id, w);
      for (let b = 0; b < B; b++) impl.update(states[b], ex, params, w[b + 1]);
    }
    const exact = states.map((st) => impl.finalize(st, params).value as number).sort((x, y) => x - y);
    const q = (p: number) =>
      exact[Math.floor((B - 1) * p)] +
      ((B - 1) * p - Math.floor((B - 1) * p)) * (exact[Math.ceil((B - 1) * p)] - exact[Math.floor((B - 1) * p)]);
    const r = finalizeAccumulator(s, accumulate(s, examples)).auc;
    const width = q(0.975) - q(0.025);
    expect(Math.abs((r.ciLow as number) - q(0.025))).toBeLessThan(0.01 * width);
    expect(Math.abs((r.ciHigh as number) - q(0.975))).toBeLessThan(0.01 * width);
  });

  it('omits intervals with zero replicates', () => {
    const none = { ...s, replicates: 0 };
    expect(finalizeAccumulator(none, accumulate(none, mixedExamples(50, 5))).acc).toMatchObject({
      ciLow: null,
      ciHigh: null,
    });
  });
});

describe('versions and validation', () => {
  const examples = mixedExamples(200, 6);

  it('records the pinned implementation version and computes with it', () => {
    const pinned: AccumulatorSpec = {
      seed: 'v',
      replicates: 10,
      metrics: [
        { name: 'recall_old', metric: 'recall', params: { positiveLabel: 'a' }, implVersion: '0.9.0' },
        { name: 'precision', metric: 'precision', params: { positiveLabel: 'a' } },
      ],
    };
    const r = finalizeAccumulator(pinned, accumulate(pinned, examples));
    expect(r.recall_old.implVersion).toBe('0.9.0');
    expect(r.recall_old.value).toBe(r.precision.value);
    expect(r.recall_old.ciLow).toBe(r.precision.ciLow);
  });

  it('refuses to merge states made with another seed, version or params', () => {
    const base: AccumulatorSpec = {
      seed: 'm',
      replicates: 3,
      metrics: [{ name: 'r', metric: 'recall', params: { positiveLabel: 'a' } }],
    };
    const state = accumulate(base, examples);
    expect(() => mergeAccumulatorStates({ ...base, seed: 'other' }, [state])).toThrow(AccumulatorMismatchError);
    expect(() =>
      mergeAccumulatorStates({ ...base, metrics: [{ ...base.metrics[0], implVersion: '0.9.0' }] }, [state]),
    ).toThrow(/recall@1.0.0 in the state/);
    expect(() =>
      mergeAccumulatorStates({ ...base, metrics: [{ ...base.metrics[0], params: { positiveLabel: 'b' } }] }, [state]),
    ).toThrow(/other params/);
    expect(() => finalizeAccumulator({ ...base, replicates: 4 }, state)).toThrow(AccumulatorMismatchError);
  });

  it('validates the spec with typed errors', () => {
    expect(() => createAccumulator({ seed: 's', metrics: [{ name: 'x', metric: 'accuracyy' as 'accuracy' }] })).toThrow(
      UnknownMetricError,
    );
    expect(() =>
      createAccumulator({ seed: 's', metrics: [{ name: 'x', metric: 'ece', params: { bins: 0 } }] }),
    ).toThrow(InvalidMetricParamsError);
    expect(() =>
      createAccumulator({
        seed: 's',
        metrics: [
          { name: 'x', metric: 'mae' },
          { name: 'x', metric: 'rmse' },
        ],
      }),
    ).toThrow(InvalidMetricSpecError);
    expect(() =>
      createAccumulator({
        seed: 's',
        metrics: [
          { name: 'x', metric: 'mae' },
          { name: 'x', metric: 'rmse' },
        ],
      }),
    ).toThrow(/unique/);
    expect(() => createAccumulator({ seed: 's', replicates: -1, metrics: [] })).toThrow(/replicates/);
  });
});
