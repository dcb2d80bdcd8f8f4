/**
 * The experiment statistics: the asymptotic confidence sequence (its formula at a reference
 * point, its shape, and its time-uniform coverage under repeated looks), the sample-ratio
 * check against the chi-square reference, guardrail verdicts, assignment, and the decisions of
 * seeded simulated experiments through the same decision code the workflow's checks use.
 */
import { bucketOf, variantOf } from '../../../domain/experiments/assignment';
import { decideCheck, type ExperimentPlan } from '../../../domain/experiments/decide';
import {
  confidenceSequenceHalfWidth,
  differenceInMeans,
  sampleRatioCheck,
  verdictOf,
} from '../../../domain/experiments/statistics';
import { mulberry32 } from '../../../testkit/modelServer/models/text';
import { simulateExperiment } from '../../../testkit/traffic';

describe('the asymptotic confidence sequence', () => {
  it('matches its formula at a reference point (alpha 0.05, N* = 5000, N = 5000, sigma = 1)', () => {
    // rho^2 = (5.991464547 + ln 6.991464547) / 5000 = 0.0015872309; worked by hand from the formula.
    expect(confidenceSequenceHalfWidth(1, 5000, 0.05, 5000)).toBeCloseTo(0.042924, 5);
  });

  it('is wider than the fixed-sample interval and closest to it near the tuning size', () => {
    const ratio = (n: number) => confidenceSequenceHalfWidth(1, n, 0.05, 5000) / (1.959964 / Math.sqrt(n));
    expect(ratio(5000)).toBeGreaterThan(1);
    expect(ratio(5000)).toBeLessThan(ratio(500));
    expect(ratio(5000)).toBeLessThan(ratio(50_000));
  });

  it('keeps its coverage although it is read after every 50 units (A/A, 200 seeded sequences)', () => {
    let missed = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = mulberry32(seed);
      const arm = () => ({ units: 0, sum: 0, sumsq: 0 });
      const c = arm();
      const t = arm();
      let everMissed = false;
      for (let i = 1; i <= 10_000 && !everMissed; i++) {
        const a = random() < 0.5 ? c : t;
        const v = random() < 0.1 ? 1 : 0;
        a.units += 1;
        a.sum += v;
        a.sumsq += v * v;
        if (i % 50 === 0) {
          const d = differenceInMeans(c, t, 0.05);
          if (d && (d.ciLow > 0 || d.ciHigh < 0)) everMissed = true;
        }
      }
      if (everMissed) missed += 1;
    }
    // At most alpha (5%, 10 sequences) may ever exclude the truth; a fixed-sample interval read 200 times misses far more.
    expect(missed).toBeLessThanOrEqual(5);
  });

  it('gives no interval below 8 units per arm, and a point interval for constant values', () => {
    expect(differenceInMeans({ units: 7, sum: 1, sumsq: 1 }, { units: 100, sum: 1, sumsq: 1 }, 0.05)).toBeNull();
    expect(differenceInMeans({ units: 10, sum: 0, sumsq: 0 }, { units: 10, sum: 0, sumsq: 0 }, 0.05)).toEqual({
      control: 0,
      treatment: 0,
      delta: 0,
      ciLow: 0,
      ciHigh: 0,
    });
  });
});

describe('guardrail verdicts', () => {
  it.each([
    ['higher_is_better', { ciLow: -0.5, ciHigh: -0.2 }, 'fail'],
    ['higher_is_better', { ciLow: -0.05, ciHigh: 0.2 }, 'pass'],
    ['higher_is_better', { ciLow: -0.2, ciHigh: 0.2 }, 'pending'],
    ['lower_is_better', { ciLow: 0.2, ciHigh: 0.5 }, 'fail'],
    ['lower_is_better', { ciLow: -0.2, ciHigh: 0.05 }, 'pass'],
    ['lower_is_better', { ciLow: -0.2, ciHigh: 0.2 }, 'pending'],
  ] as const)('%s with interval %j and margin 0.1 → %s', (direction, interval, verdict) => {
    expect(verdictOf(interval, direction, 0.1)).toBe(verdict);
  });
});

describe('the sample-ratio check', () => {
  it('matches the chi-square reference: 550/450 at 50% is chi2 = 10, p = 0.0015654', () => {
    const { pValue, ok } = sampleRatioCheck(450, 550, 0.5, 0.001);
    expect(pValue).toBeCloseTo(0.0015654, 6);
    expect(ok).toBe(true);
    expect(sampleRatioCheck(450, 550, 0.5, 0.01).ok).toBe(false);
  });
  it('tests against the ramp split and needs 8 units per arm', () => {
    expect(sampleRatioCheck(900, 100, 0.1, 0.001).pValue).toBeCloseTo(1, 9);
    expect(sampleRatioCheck(7, 500, 0.5, 0.001)).toEqual({ pValue: 1, ok: true });
  });
});

describe('assignment', () => {
  it('is deterministic, near the requested share, and monotone as the ramp grows', () => {
    const units = Array.from({ length: 20_000 }, (_, i) => `unit-${i}`);
    expect(bucketOf('exp-1', 'unit-1')).toBe(bucketOf('exp-1', 'unit-1'));
    const at = (percent: number) => new Set(units.filter((u) => variantOf('exp-1', u, percent) === 'treatment'));
    const five = at(5);
    const fifty = at(50);
    expect(five.size / units.length).toBeGreaterThan(0.04);
    expect(five.size / units.length).toBeLessThan(0.06);
    expect(fifty.size / units.length).toBeGreaterThan(0.48);
    expect(fifty.size / units.length).toBeLessThan(0.52);
    for (const u of five) expect(fifty.has(u)).toBe(true);
    expect(at(0).size).toBe(0);
    expect(at(100).size).toBe(units.length);
  });
});

const plan: ExperimentPlan = {
  ramp: [
    { percent: 10, minSeconds: 5, minUnits: 500, maxSeconds: 5 },
    { percent: 50, minSeconds: 10, minUnits: 4000, maxSeconds: 120 },
  ],
  guardrails: [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.03, alpha: 0.05 }],
  srmAlpha: 0.001,
  checkEverySeconds: 1,
  onInconclusive: 'pause',
  tuningUnits: 5000,
};

describe('simulated experiments through the decision code', () => {
  it('promote an A/A candidate without a rollback in at least 95 of 100 seeded runs', () => {
    const results = Array.from({ length: 100 }, (_, i) =>
      simulateExperiment(
        plan,
        { seed: 1000 + i, rate: { control: 0.05, treatment: 0.05 } },
        {
          experimentId: `aa-${i}`,
          unitsPerSecond: 200,
        },
      ),
    );
    const tally = (action: string) => results.filter((r) => r.action === action).length;
    expect(tally('promote')).toBeGreaterThanOrEqual(95);
    expect(tally('rollback')).toBeLessThanOrEqual(5);
  });

  it('roll back a harmful candidate (error rate 5% → 20%) before 4,000 units, in every one of 20 seeds', () => {
    for (let i = 0; i < 20; i++) {
      const r = simulateExperiment(
        plan,
        { seed: 2000 + i, rate: { control: 0.05, treatment: 0.2 } },
        {
          experimentId: `harm-${i}`,
          unitsPerSecond: 200,
        },
      );
      expect({ action: r.action, reason: r.reason, early: r.units < 4000 }).toEqual({
        action: 'rollback',
        reason: 'guardrail_harm',
        early: true,
      });
    }
  });

  it('roll back on a sample-ratio mismatch when 40% of treatment exposures are lost', () => {
    const r = simulateExperiment(
      plan,
      { seed: 7, rate: { control: 0.05, treatment: 0.05 }, lostTreatmentExposures: 0.4 },
      { experimentId: 'srm', unitsPerSecond: 200 },
    );
    expect([r.action, r.reason]).toEqual(['rollback', 'sample_ratio_mismatch']);
  });

  it('are inconclusive when the last step ends undecided', () => {
    const short = { ...plan, ramp: [{ percent: 50, minSeconds: 2, minUnits: 0, maxSeconds: 3 }] };
    const r = simulateExperiment(
      short,
      { seed: 3, rate: { control: 0.05, treatment: 0.05 } },
      {
        experimentId: 'short',
        unitsPerSecond: 50,
      },
    );
    expect([r.action, r.reason]).toEqual(['inconclusive', 'inconclusive']);
  });

  it('decide from the step aggregates alone: the reference decision of one check', () => {
    const arm = (units: number, errors: number) => ({ units, sums: [errors], sumsqs: [errors] });
    // 5% vs 20% errors: at 100 treatment units the interval [0.003, 0.297] still contains the 0.03 margin; at 300 it is [0.072, 0.228].
    expect(decideCheck(plan, 0, 1, arm(900, 45), arm(100, 20)).action).toBe('continue');
    expect(decideCheck(plan, 0, 1, arm(2700, 135), arm(300, 60))).toMatchObject({
      action: 'rollback',
      reason: 'guardrail_harm',
    });
    expect(decideCheck(plan, 0, 6, arm(900, 45), arm(100, 5)).action).toBe('advance');
    expect(decideCheck(plan, 0, 1, arm(900, 45), arm(100, 5)).action).toBe('continue');
  });
});
