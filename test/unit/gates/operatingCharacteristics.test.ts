/**
 * Gate operating characteristics are exact probabilities: at the margin a 95% non-inferiority
 * rule passes 2.5% of the time (its one-sided error), an equal candidate's chance grows with
 * n, and a gate that cannot pass an equal candidate 80% of the time says so.
 */
import { gateCharacteristics, powerWarnings } from '../../../domain/gates/operatingCharacteristics';
import type { GateRule } from '../../../domain/gates/evaluateRules';

const metricIds = { accuracy: 'accuracy', log_loss: 'log_loss' };
const ni: GateRule = { metric: 'accuracy', kind: 'non_inferiority', margin: 0.02 };

describe('gateCharacteristics', () => {
  it('gives P(pass), P(fail), P(inconclusive) at -2m, -m, -m/2, 0, +m', () => {
    const [c] = gateCharacteristics({ rules: [ni], metricIds, data: [{ n: 1000 }], discordance: 0.08 });
    expect(c.points!.map((p) => p.trueDelta)).toEqual([-0.04, -0.02, -0.01, 0, 0.02]);
    for (const p of c.points!) expect(p.pPass + p.pFail + p.pInconclusive).toBeCloseTo(1, 12);
    const atMargin = c.points![1];
    expect(atMargin.pPass).toBeGreaterThan(0.02);
    expect(atMargin.pPass).toBeLessThan(0.03);
    expect(c.points![3].pPass).toBeCloseTo(0.595, 2);
    expect(c.examplesFor80PercentPower).toBe(1607);
    expect(c.discordanceSource).toBe('stated');
  });

  it('assumes independent errors, 2p(1 - p), from the baseline accuracy when no discordance is given', () => {
    const [c] = gateCharacteristics({ rules: [ni], metricIds, data: [{ n: 500, baselineValue: 0.9 }] });
    expect(c.discordance).toBeCloseTo(0.18, 12);
    expect(c.discordanceSource).toBe('assumed_independent_errors');
  });

  it('answers a point rule as pass or fail only, and other rules with a reason', () => {
    const [point, loss, min] = gateCharacteristics({
      rules: [
        { metric: 'accuracy', kind: 'max_regression', threshold: 0.02 },
        { metric: 'log_loss', kind: 'non_inferiority', margin: 0.05 },
        { metric: 'accuracy', kind: 'min', threshold: 0.8 },
      ],
      metricIds,
      data: [{ n: 1000 }, { n: 1000 }, { n: 1000 }],
      discordance: 0.08,
    });
    for (const p of point.points!) expect(p.pInconclusive).toBeCloseTo(0, 12);
    // A point gate passes about half of the margin-sized regressions.
    expect(point.points![1].pPass).toBeGreaterThan(0.45);
    expect(loss).toMatchObject({ points: null, reason: 'not_a_binary_outcome_metric' });
    expect(min).toMatchObject({ points: null, reason: 'not_a_comparative_rule' });
  });

  it('warns when a blocking rule passes an equal candidate with less than 80% probability', () => {
    const rules = [ni, { ...ni, name: 'advisory', blocking: false }];
    const small = gateCharacteristics({ rules, metricIds, data: [{ n: 300 }, { n: 300 }], discordance: 0.08 });
    const warnings = powerWarnings(rules, small);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: 'low_power',
      rule: 'accuracy:non_inferiority',
      examplesFor80PercentPower: 1607,
    });
    const large = gateCharacteristics({ rules, metricIds, data: [{ n: 3000 }, { n: 3000 }], discordance: 0.08 });
    expect(powerWarnings(rules, large)).toEqual([]);
  });

  it('stays a probability for margins no delta can reach', () => {
    const [c] = gateCharacteristics({
      rules: [{ metric: 'accuracy', kind: 'non_inferiority', margin: 5 }],
      metricIds,
      data: [{ n: 50, baselineValue: 1 }],
    });
    for (const p of c.points!) {
      expect(p.pPass + p.pFail + p.pInconclusive).toBeCloseTo(1, 9);
      expect(p.pPass).toBeGreaterThanOrEqual(0);
    }
  });
});
