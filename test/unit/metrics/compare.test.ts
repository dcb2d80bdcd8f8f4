/** Paired comparison of accumulators and McNemar's exact test. */
import {
  AccumulatorMismatchError,
  type AccumulatorSpec,
  bootstrapPValue,
  compareAccumulators,
  createAccumulator,
  mcnemarExact,
  type MetricExample,
} from '../../../domain/metrics';
import { rng } from './helpers';

const spec: AccumulatorSpec = {
  seed: 'paired',
  metrics: [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'auc', metric: 'roc_auc', params: { positiveLabel: 'yes' } },
  ],
};

/** Same examples (ids, truth, tags) scored by a model that is right with probability `skill`. */
function run(n: number, skill: (i: number) => boolean, ids = 'q') {
  const random = rng(11);
  const acc = createAccumulator(spec);
  for (let i = 0; i < n; i++) {
    const truth = i % 2 === 0 ? 'yes' : 'no';
    const right = skill(i);
    const p = right === (truth === 'yes') ? 0.6 + 0.4 * random() : 0.4 * random();
    const ex: MetricExample = {
      id: `${ids}${i}`,
      tags: [i % 3 === 0 ? 'hard' : 'easy'],
      label: truth,
      prediction: { label: p >= 0.5 ? 'yes' : 'no', scores: { yes: p, no: 1 - p } },
    };
    acc.add(ex);
  }
  return acc.toJSON();
}

describe('compareAccumulators', () => {
  const n = 1000;
  const baseline = run(n, (i) => i % 10 < 7); // 70% right
  const candidate = run(n, (i) => i % 10 < 7 || i % 100 === 98); // also right on 1 in 100: +1 point

  it('reports zero difference, with certainty p = 1, against itself', () => {
    const r = compareAccumulators(spec, baseline, baseline).accuracy;
    expect(r).toMatchObject({ delta: 0, deltaCiLow: 0, deltaCiHigh: 0, pValue: 1 });
    expect(r.candidate).toBe(r.baseline);
  });

  it('pairs replicates: a small, consistent gain has a tight interval', () => {
    const r = compareAccumulators(spec, candidate, baseline).accuracy;
    expect(r.delta).toBeCloseTo(0.01, 12);
    // unpaired, each accuracy alone has a 95% interval about +-0.028 wide; paired deltas are
    // driven only by the 10 changed examples: never negative
    expect(r.deltaCiLow as number).toBeGreaterThan(0);
    expect((r.deltaCiHigh as number) - (r.deltaCiLow as number)).toBeLessThan(0.02);
    expect(r.pValue).toBeCloseTo(1 / 201, 12); // floored at 1/(B+1)
  });

  it('compares slices present in both runs', () => {
    const r = compareAccumulators(spec, candidate, baseline);
    expect(Object.keys(r.accuracy.slices ?? {})).toEqual(['easy', 'hard']);
    expect(r.auc.slices?.hard.delta).toEqual(expect.any(Number));
  });

  it('gives a large p-value when the runs differ by noise', () => {
    const noisy = run(n, (i) => i % 10 < 7 !== (i % 97 === 0 || i % 89 === 0));
    const p = compareAccumulators(spec, noisy, baseline).accuracy.pValue as number;
    expect(p).toBeGreaterThan(0.05);
  });

  it('refuses to pair runs over different example sets', () => {
    expect(() =>
      compareAccumulators(
        spec,
        run(n, () => true, 'other-'),
        baseline,
      ),
    ).toThrow(AccumulatorMismatchError);
    expect(() =>
      compareAccumulators(
        spec,
        run(n - 1, () => true),
        baseline,
      ),
    ).toThrow(/different example sets/);
  });
});

describe('bootstrapPValue', () => {
  it('is 2 x the smaller tail, floored at 1/(B+1) and capped at 1', () => {
    expect(bootstrapPValue([1, 2, 3, -1])).toBe(0.5); // 2 * 1/4
    expect(bootstrapPValue([1, 2, 3])).toBe(0.25); // 0 below zero -> floor 1/(3+1)
    expect(bootstrapPValue([0, 0])).toBe(1);
    expect(bootstrapPValue([NaN, 1, -1])).toBe(1);
    expect(bootstrapPValue([NaN])).toBeNull();
  });
});

describe('mcnemarExact', () => {
  /** Independent reference: exact rational arithmetic with BigInt binomial coefficients. */
  function exactBinomialTwoSided(b: number, c: number): number {
    const n = BigInt(b + c);
    const k = BigInt(Math.min(b, c));
    let coef = 1n; // C(n, 0)
    let tail = 0n;
    for (let i = 0n; i <= k; i++) {
      tail += coef;
      coef = (coef * (n - i)) / (i + 1n);
    }
    // p = 2 tail / 2^n to 25+ significant digits, then one correctly rounded string parse
    const digits = Math.ceil((b + c) * Math.log10(2)) + 25;
    const scaled = (2n * tail * 10n ** BigInt(digits)) / 2n ** n;
    return Math.min(1, Number(`${scaled}e-${digits}`));
  }

  it('matches hand-computed values', () => {
    // n = 6, k = 1: P(X <= 1) = (1 + 6)/64 -> p = 14/64
    expect(mcnemarExact(1, 5)).toBeCloseTo(14 / 64, 15);
    // n = 10, k = 0: 2 / 1024
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 15);
    // scipy.stats.binomtest(40, 100, 0.5).pvalue = 0.05688793...
    expect(mcnemarExact(40, 60)).toBeCloseTo(0.05688793, 8);
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(5, 1)).toBe(mcnemarExact(1, 5));
  });

  it.each([
    [40, 60],
    [12, 30],
    [150, 210],
    [480, 520],
    [3, 1000],
  ])('matches an exact rational computation for b=%i, c=%i', (b, c) => {
    const reference = exactBinomialTwoSided(b, c);
    expect(reference).toBeGreaterThan(0);
    expect(Math.abs(mcnemarExact(b, c) / reference - 1)).toBeLessThan(1e-10);
  });

  it('rejects non-counts', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 2)).toThrow(RangeError);
  });
});
