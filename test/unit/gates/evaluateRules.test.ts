/**
 * evaluateRules is pure: the same evidence gives the same verdicts. These pin each rule
 * kind's arithmetic, metric direction, blocking vs warning, and fail-closed on missing
 * evidence, with hand-computed values.
 */
import { evaluateRules, ruleId, type DatasetEvidence, type GateRule } from '../../../domain/gates/evaluateRules';

const D = 'd1';
const evidence = (over: Partial<DatasetEvidence> = {}): DatasetEvidence => ({
  datasetName: 'spam v1',
  rowCount: 100,
  candidate: {
    runId: 'c',
    results: {
      accuracy: {
        resultId: '11',
        value: 0.9,
        ciLow: 0.85,
        ciHigh: 0.95,
        n: 100,
        slices: { 'hard-ham': { value: 0.6, n: 20 }, empty: { value: null, n: 0, reason: 'no_examples' } },
      },
      log_loss: { resultId: '12', value: 0.3, n: 100 },
    },
  },
  baseline: {
    runId: 'b',
    results: {
      accuracy: { resultId: '21', value: 0.92, n: 100, slices: { 'hard-ham': { value: 0.8, n: 20 } } },
      log_loss: { resultId: '22', value: 0.25, n: 100 },
    },
  },
  comparison: {
    accuracy: {
      delta: -0.02,
      relativeDelta: -0.02 / 0.92,
      deltaCiLow: -0.05,
      deltaCiHigh: 0.01,
      pValue: 0.2,
      intervals: { '0.8': [-0.04, 0] },
      slices: { 'hard-ham': { delta: -0.2, deltaCiLow: -0.35, deltaCiHigh: -0.05 } },
    },
    log_loss: { delta: 0.05, deltaCiLow: 0.01, deltaCiHigh: 0.09 },
  },
  ...over,
});
const run = (rules: GateRule[], data: DatasetEvidence = evidence()) =>
  evaluateRules({
    rules,
    primaryDatasetId: D,
    metricIds: { accuracy: 'accuracy', log_loss: 'log_loss' },
    datasets: { [D]: data },
  });
const one = (rule: GateRule, data?: DatasetEvidence) => run([rule], data).reasons[0];

describe('evaluateRules', () => {
  it.each([
    ['min', { metric: 'accuracy', kind: 'min', threshold: 0.9 }, 'pass'],
    ['min', { metric: 'accuracy', kind: 'min', threshold: 0.91 }, 'fail'],
    ['max', { metric: 'log_loss', kind: 'max', threshold: 0.3 }, 'pass'],
    ['max', { metric: 'log_loss', kind: 'max', threshold: 0.29 }, 'fail'],
    ['max_regression absolute', { metric: 'accuracy', kind: 'max_regression', threshold: 0.03 }, 'pass'],
    ['max_regression absolute', { metric: 'accuracy', kind: 'max_regression', threshold: 0.01 }, 'fail'],
    [
      'max_regression relative',
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.03, relative: true },
      'pass',
    ], // 0.02/0.92 = 2.2%
    [
      'max_regression relative',
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.02, relative: true },
      'fail',
    ],
    [
      'max_regression on a slice',
      { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.1 },
      'fail',
    ],
    ['max_regression, lower is better', { metric: 'log_loss', kind: 'max_regression', threshold: 0.06 }, 'pass'], // rose by 0.05
    ['max_regression, lower is better', { metric: 'log_loss', kind: 'max_regression', threshold: 0.04 }, 'fail'],
    ['non_inferiority', { metric: 'accuracy', kind: 'non_inferiority', margin: 0.06 }, 'pass'], // low -0.05 > -0.06
    ['non_inferiority', { metric: 'accuracy', kind: 'non_inferiority', margin: 0.05 }, 'fail'], // -0.05 is not > -0.05: inconclusive
    ['non_inferiority at 80%', { metric: 'accuracy', kind: 'non_inferiority', margin: 0.045, confidence: 0.8 }, 'pass'], // low -0.04
    ['non_inferiority, lower is better', { metric: 'log_loss', kind: 'non_inferiority', margin: 0.1 }, 'pass'], // high 0.09 < 0.1
    ['non_inferiority, lower is better', { metric: 'log_loss', kind: 'non_inferiority', margin: 0.09 }, 'fail'],
  ] as [string, GateRule, string][])('%s: %j -> %s', (_k, rule, verdict) => {
    expect(one(rule).verdict).toBe(verdict);
  });

  it('must_pass needs the value at the threshold and every row counted', () => {
    const perfect = evidence({ candidate: { runId: 'c', results: { accuracy: { resultId: '1', value: 1, n: 100 } } } });
    expect(one({ metric: 'accuracy', kind: 'must_pass', datasetId: D }, perfect).verdict).toBe('pass');
    const skipped = evidence({ candidate: { runId: 'c', results: { accuracy: { resultId: '1', value: 1, n: 98 } } } });
    expect(one({ metric: 'accuracy', kind: 'must_pass', datasetId: D }, skipped)).toMatchObject({
      verdict: 'fail',
      message: expect.stringMatching(/98 of 100 counted/),
    });
    const wrong = evidence({ wrongExamples: ['a', 'b'] });
    expect(one({ metric: 'accuracy', kind: 'must_pass', datasetId: D }, wrong).message).toMatch(/wrong: a, b/);
  });

  it('reports values, interval, threshold and the result rows used', () => {
    expect(one({ metric: 'accuracy', kind: 'non_inferiority', margin: 0.04, confidence: 0.8 })).toEqual({
      code: 'insufficient_evidence',
      rule: 'accuracy:non_inferiority',
      metric: 'accuracy',
      kind: 'non_inferiority',
      blocking: true,
      datasetId: D,
      verdict: 'fail',
      candidate: 0.9,
      baseline: 0.92,
      delta: -0.02,
      relativeDelta: -0.02 / 0.92,
      deltaCiLow: -0.04,
      deltaCiHigh: 0,
      confidence: 0.8,
      pValue: 0.2,
      margin: 0.04,
      resultIds: ['11', '21'],
      outcome: 'inconclusive',
      // The lower bound sits on the margin: any more examples at this spread would clear it.
      examplesNeeded: 1,
      n: 100,
      message:
        'accuracy (spam v1): delta -0.02, 80% CI [-0.04, 0] contains -0.04; not enough evidence: about 1 more example',
    });
  });

  describe('exact thresholds: a value on the threshold passes', () => {
    const values = (candidate: number, baseline: number, metric = 'accuracy'): DatasetEvidence => ({
      candidate: { runId: 'c', results: { [metric]: { resultId: '1', value: candidate, n: 100 } } },
      baseline: { runId: 'b', results: { [metric]: { resultId: '2', value: baseline, n: 100 } } },
    });
    it('passes a regression equal to max_regression (0.9 - 0.88 is 0.020000000000000018 in floating point)', () => {
      expect(0.9 - 0.88).toBeGreaterThan(0.02);
      const reason = one({ metric: 'accuracy', kind: 'max_regression', threshold: 0.02 }, values(0.88, 0.9));
      expect(reason).toMatchObject({ verdict: 'pass', delta: null });
      expect(reason.message).not.toMatch(/regressed too far/);
    });
    it('fails a regression one example (of 100) past the threshold', () => {
      expect(one({ metric: 'accuracy', kind: 'max_regression', threshold: 0.02 }, values(0.87, 0.9)).verdict).toBe(
        'fail',
      );
    });
    it('passes ties of relative, lower-is-better, min and max rules', () => {
      // 0.3 -> 0.33 on log_loss is a 10% relative regression: 0.33 - 0.3 = 0.030000000000000027.
      expect(
        one(
          { metric: 'log_loss', kind: 'max_regression', threshold: 0.1, relative: true },
          values(0.33, 0.3, 'log_loss'),
        ).verdict,
      ).toBe('pass');
      expect(
        one({ metric: 'log_loss', kind: 'max_regression', threshold: 0.03 }, values(0.33, 0.3, 'log_loss')).verdict,
      ).toBe('pass');
      expect(one({ metric: 'accuracy', kind: 'min', threshold: 0.3 }, values(0.1 + 0.2, 0.9)).verdict).toBe('pass');
      expect(one({ metric: 'log_loss', kind: 'max', threshold: 0.3 }, values(0.1 + 0.2, 0.9, 'log_loss')).verdict).toBe(
        'pass',
      );
    });
  });

  describe('non_inferiority is three-way', () => {
    const compared = (delta: number, low: number, high: number, n = 300): DatasetEvidence =>
      evidence({ comparison: { accuracy: { delta, deltaCiLow: low, deltaCiHigh: high, n } } });
    const rule: GateRule = { metric: 'accuracy', kind: 'non_inferiority', margin: 0.02 };
    it('passes when the interval lies above -margin', () => {
      expect(one(rule, compared(0.01, -0.015, 0.035))).toMatchObject({ verdict: 'pass', outcome: 'pass' });
    });
    it('fails when the whole interval lies below -margin: inferiority shown', () => {
      const reason = one(rule, compared(-0.06, -0.09, -0.03));
      expect(reason).toMatchObject({ verdict: 'fail', outcome: 'fail' });
      expect(reason.code).toBe('rule');
      expect(reason.message).toMatch(/inferiority shown/);
    });
    it('is inconclusive when the interval contains -margin: blocking, insufficient_evidence, examplesNeeded', () => {
      // delta 0 with half-width 0.03 at n = 300: the lower side must shrink to 0.02, so n (0.03 / 0.02)^2 = 675 in all.
      const reason = one(rule, compared(0, -0.03, 0.03));
      expect(reason).toMatchObject({
        verdict: 'fail',
        outcome: 'inconclusive',
        code: 'insufficient_evidence',
        examplesNeeded: 375,
      });
      expect(reason.message).toMatch(/not enough evidence: about 375 more examples/);
      expect(one({ ...rule, blocking: false }, compared(0, -0.03, 0.03))).toMatchObject({
        verdict: 'warn',
        outcome: 'inconclusive',
      });
    });
    it('estimates the examples to show inferiority when the delta is below -margin', () => {
      // delta -0.04, upper bound -0.01: the upper side (0.03) must shrink to 0.02 -> 675 in all.
      expect(one(rule, compared(-0.04, -0.07, -0.01)).examplesNeeded).toBe(375);
    });
    it('mirrors for lower-is-better metrics', () => {
      const lossRule: GateRule = { metric: 'log_loss', kind: 'non_inferiority', margin: 0.02 };
      const loss = (delta: number, low: number, high: number) =>
        evidence({ comparison: { log_loss: { delta, deltaCiLow: low, deltaCiHigh: high, n: 300 } } });
      expect(one(lossRule, loss(0, -0.01, 0.01)).outcome).toBe('pass');
      expect(one(lossRule, loss(0.05, 0.03, 0.07)).outcome).toBe('fail');
      expect(one(lossRule, loss(0, -0.03, 0.03))).toMatchObject({ outcome: 'inconclusive', examplesNeeded: 375 });
    });
  });

  it('fails closed on a metric undefined on the slice, naming its reason', () => {
    const undefinedF1 = evidence({
      candidate: {
        runId: 'c',
        results: {
          f1: {
            resultId: '1',
            value: 0.8,
            n: 100,
            slices: { ham: { value: null, n: 60, reason: 'no_positive_labels' } },
          },
        },
      },
    });
    const reason = run([{ metric: 'f1', slice: 'ham', kind: 'min', threshold: 0.5 }], undefinedF1).reasons[0];
    expect(reason).toMatchObject({ verdict: 'error', candidate: null });
    expect(reason.message).toMatch(/no_positive_labels/);
  });

  it('fails closed on missing evidence: a blocking rule errors, a non-blocking one warns', () => {
    expect(one({ metric: 'accuracy', slice: 'empty', kind: 'min', threshold: 0.5 }).verdict).toBe('error');
    expect(one({ metric: 'accuracy', slice: 'empty', kind: 'min', threshold: 0.5, blocking: false }).verdict).toBe(
      'warn',
    );
    expect(
      one({ metric: 'accuracy', kind: 'max_regression', threshold: 0.1 }, evidence({ baseline: undefined })).verdict,
    ).toBe('error');
    expect(
      one({ metric: 'accuracy', kind: 'non_inferiority', margin: 0.1 }, evidence({ comparison: undefined })).verdict,
    ).toBe('error');
    expect(one({ metric: 'f1', kind: 'min', threshold: 0.1 }).message).toMatch(/no current result for metric f1/);
  });

  it('decides error over fail over pass, and a failing non-blocking rule only warns', () => {
    expect(
      run([
        { metric: 'accuracy', kind: 'min', threshold: 0.5 },
        { metric: 'accuracy', kind: 'min', threshold: 0.95, blocking: false },
      ]).status,
    ).toBe('pass');
    expect(run([{ metric: 'accuracy', kind: 'min', threshold: 0.95 }]).status).toBe('fail');
    expect(
      run([
        { metric: 'accuracy', kind: 'min', threshold: 0.95 },
        { metric: 'accuracy', slice: 'empty', kind: 'min', threshold: 0.5 },
      ]).status,
    ).toBe('error');
  });

  it('names rules stably', () => {
    expect(ruleId({ metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression' })).toBe(
      'accuracy[hard-ham]:max_regression',
    );
    expect(ruleId({ metric: 'accuracy', kind: 'must_pass', datasetId: '0123456789ab' })).toBe(
      'accuracy:must_pass@01234567',
    );
    expect(ruleId({ metric: 'accuracy', kind: 'min', name: 'floor' })).toBe('floor');
  });
});
