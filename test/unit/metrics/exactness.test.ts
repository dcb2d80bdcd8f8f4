/** Exact fixed-point sums and deterministic Poisson bootstrap weights. */
import { fillPoissonWeights, POISSON1_THRESHOLDS, seedState } from '../../../domain/metrics/bootstrap';
import { limbsToReal, quantiseReal, splitReal } from '../../../domain/metrics/fixedPoint';
import { rng, shuffle } from './helpers';

/** Sum reals the way metric states do: split once, add digits per limb, rebuild. */
function exactSum(values: readonly number[]): number {
  const limbs = new Map<number, number>();
  const digits = new Float64Array(3);
  for (const x of values) {
    const base = splitReal(x, digits);
    if (Number.isNaN(base)) continue;
    for (let i = 0; i < 3; i++) limbs.set(base + i, (limbs.get(base + i) ?? 0) + digits[i]);
  }
  return limbsToReal([...limbs.keys()], [...limbs.values()]);
}

describe('fixed-point reals', () => {
  it('quantises to at least 32 significant bits', () => {
    const random = rng(1);
    for (let i = 0; i < 2000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      expect(Math.abs(quantiseReal(x) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -33);
    }
    expect(quantiseReal(0.5)).toBe(0.5);
    expect(quantiseReal(-3)).toBe(-3);
    expect(quantiseReal(1e300)).toBeCloseTo(1e300, -290);
    expect(quantiseReal(0)).toBe(0);
  });

  it('sums in any order to the same double, bit for bit', () => {
    const random = rng(2);
    const values = Array.from({ length: 5000 }, () => -Math.log(random()) * (random() < 0.1 ? 1e6 : 1));
    const reference = exactSum(values);
    for (let i = 0; i < 5; i++) expect(Object.is(exactSum(shuffle(values, random)), reference)).toBe(true);
    // a naive float sum typically differs with order; the exact sum equals the float sum within rounding
    const naive = values.reduce((a, b) => a + b, 0);
    expect(reference / naive).toBeCloseTo(1, 12);
  });

  it('cancels exactly', () => {
    expect(exactSum([0.1, 0.2, -0.1, -0.2])).toBe(0);
    expect(exactSum([1e20, 1, -1e20])).toBe(1);
  });
});

describe('Poisson(1) bootstrap weights', () => {
  it('uses thresholds equal to floor(2^32 * CDF) of Poisson(1)', () => {
    let cdf = 0;
    let factorial = 1;
    POISSON1_THRESHOLDS.slice(0, -1).forEach((threshold, k) => {
      if (k > 0) factorial *= k;
      cdf += Math.exp(-1) / factorial;
      expect(Math.abs(threshold - Math.floor(cdf * 2 ** 32))).toBeLessThanOrEqual(1);
    });
    expect(POISSON1_THRESHOLDS[POISSON1_THRESHOLDS.length - 1]).toBe(2 ** 32);
  });

  it('depends only on (seed, example id), with slot 0 fixed at 1', () => {
    const seed = seedState('run-1');
    const a = new Float64Array(201);
    const b = new Float64Array(201);
    fillPoissonWeights(seed, 'example-7', a);
    fillPoissonWeights(seedState('run-2'), 'example-7', b);
    expect(a[0]).toBe(1);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    fillPoissonWeights(seedState('run-1'), 'example-7', b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('has mean 1, variance 1 and P(0) = 1/e', () => {
    const seed = seedState('moments');
    const w = new Float64Array(1001);
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    let zeros = 0;
    for (let i = 0; i < 2000; i++) {
      fillPoissonWeights(seed, `id-${i}`, w);
      for (let b = 1; b < w.length; b++) {
        n++;
        sum += w[b];
        sumSq += w[b] * w[b];
        if (w[b] === 0) zeros++;
      }
    }
    const mean = sum / n;
    expect(mean).toBeCloseTo(1, 2);
    expect(sumSq / n - mean * mean).toBeCloseTo(1, 1);
    expect(zeros / n).toBeCloseTo(Math.exp(-1), 2);
  });

  it('separates seed and id (no concatenation collisions)', () => {
    const a = new Float64Array(50);
    const b = new Float64Array(50);
    fillPoissonWeights(seedState('ab'), 'c', a);
    fillPoissonWeights(seedState('a'), 'bc', b);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});

describe('non-finite reals', () => {
  it('throw instead of poisoning a sum', () => {
    expect(() => splitReal(Infinity, new Float64Array(3))).toThrow(RangeError);
    expect(() => splitReal(NaN, new Float64Array(3))).toThrow(RangeError);
  });
});
