/**
 * Tango's score interval for a paired difference of proportions, checked against its
 * definition rather than against printed tables: T(0) is McNemar's statistic, the nuisance
 * parameter is the constrained maximum-likelihood estimate (checked by a grid search of the
 * likelihood), the bounds are where |T| = z, and the exact coverage (enumerated, no
 * simulation) is within half a point of nominal where the issue asks for it.
 * Normal quantiles: reference values from Wichura (1988), AS 241.
 */
import { normalCdf, normalQuantile } from '../../../domain/stats/normal';
import {
  nonInferiorityVerdict,
  tangoInterval,
  tangoStatistic,
  wilsonInterval,
} from '../../../domain/stats/pairedProportions';
import { examplesNeeded } from '../../../domain/stats/examplesNeeded';
import { operatingPoint } from '../../../domain/stats/operatingCharacteristics';

describe('normal distribution', () => {
  it.each([
    [0.975, 1.959963984540054],
    [0.95, 1.6448536269514722],
    [0.995, 2.5758293035489004],
    [0.8, 0.8416212335729143],
    [0.5, 0],
  ])('quantile(%p) = %p', (p, z) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 13);
    expect(normalCdf(z)).toBeCloseTo(p, 13);
  });
  it('has the reference tail Phi(-5) = 2.866515718791939e-7', () => {
    expect(normalCdf(-5) / 2.866515718791939e-7).toBeCloseTo(1, 10);
  });
});

describe("Tango's score interval", () => {
  it('reduces to McNemar at delta 0', () => {
    expect(tangoStatistic({ n: 100, improved: 9, regressed: 4 }, 0)).toBeCloseTo((9 - 4) / Math.sqrt(13), 14);
  });

  it('uses the constrained maximum-likelihood nuisance parameter', () => {
    // Under delta = d, p12 = p21 + d; the log-likelihood in p21 is maximised by Tango's closed form.
    const n = 50;
    const n12 = 7;
    const n21 = 3;
    const d = -0.05;
    const logLik = (p21: number) =>
      n12 * Math.log(p21 + d) + n21 * Math.log(p21) + (n - n12 - n21) * Math.log(1 - 2 * p21 - d);
    let best = 0;
    let bestP = 0;
    for (let p = 0.05001; p < 0.5; p += 1e-6) {
      const l = logLik(p);
      if (bestP === 0 || l > best) [best, bestP] = [l, p];
    }
    const A = 2 * n;
    const B = -n12 - n21 + (2 * n - n12 + n21) * d;
    const C = -n21 * d * (1 - d);
    expect((Math.sqrt(B * B - 4 * A * C) - B) / (2 * A)).toBeCloseTo(bestP, 5);
  });

  it('puts |T| = z at its bounds and contains the estimate', () => {
    const counts = { n: 300, improved: 10, regressed: 16 };
    const [low, high] = tangoInterval(counts, 0.95);
    expect(low).toBeLessThan(-6 / 300);
    expect(high).toBeGreaterThan(-6 / 300);
    expect(tangoStatistic(counts, low)).toBeCloseTo(1.959963984540054, 9);
    expect(tangoStatistic(counts, high)).toBeCloseTo(-1.959963984540054, 9);
  });

  it('is not degenerate without discordant pairs (a bootstrap gives [0, 0])', () => {
    const [low, high] = tangoInterval({ n: 100, improved: 0, regressed: 0 }, 0.95);
    const z2 = 1.959963984540054 ** 2;
    expect(high).toBeCloseTo(z2 / (100 + z2), 9);
    expect(low).toBeCloseTo(-high, 12);
  });

  it('gives the same verdict as comparing the bounds with -margin', () => {
    for (let improved = 0; improved <= 30; improved++)
      for (const regressed of [0, 5, 12, 20, 30]) {
        const counts = { n: 400, improved, regressed };
        const [low, high] = tangoInterval(counts, 0.9);
        const expected = low > -0.03 ? 'pass' : high < -0.03 ? 'fail' : 'inconclusive';
        expect(nonInferiorityVerdict(counts, 0.03, 0.9)).toBe(expected);
      }
  });

  it.each([300, 1000, 3000])(
    'covers within half a point of 95%% and 90%% at n = %i (baseline 0.90, 8%% discordant pairs)',
    (n) => {
      for (const level of [0.95, 0.9])
        for (const delta of [-0.04, -0.02, 0, 0.02]) {
          const z = normalQuantile(1 - (1 - level) / 2);
          // "inconclusive" here means the interval contains the true delta.
          const covered = operatingPoint(n, 0.08, delta, (size, improved, regressed) => {
            const t = tangoStatistic({ n: size, improved, regressed }, delta);
            return t > z ? 'pass' : t < -z ? 'fail' : 'inconclusive';
          }).pInconclusive;
          expect(Math.abs(covered - level)).toBeLessThan(0.005);
        }
    },
  );
});

describe('Wilson interval', () => {
  it('matches the textbook example 81 of 263 at 95%: [0.2553, 0.3662]', () => {
    const [low, high] = wilsonInterval(81, 263, 0.95);
    expect(low).toBeCloseTo(0.2553, 4);
    expect(high).toBeCloseTo(0.3662, 4);
  });
});

describe('examplesNeeded', () => {
  it('scales the half-width facing the margin by 1/sqrt(n)', () => {
    expect(examplesNeeded({ n: 100, delta: 0, ciLow: -0.04, ciHigh: 0.04, margin: 0.02 })).toBe(300);
    expect(examplesNeeded({ n: 100, delta: 0, ciLow: -0.04, ciHigh: 0.04, margin: 0.02, lowerIsBetter: true })).toBe(
      300,
    );
  });
  it('is null when the delta sits on the margin', () => {
    expect(examplesNeeded({ n: 100, delta: -0.02, ciLow: -0.06, ciHigh: 0.02, margin: 0.02 })).toBeNull();
  });
});
