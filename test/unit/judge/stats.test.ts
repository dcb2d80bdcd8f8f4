import {
  addJudgedExample,
  agreementOf,
  emptyJudgeStats,
  mergeJudgeStats,
  summariseJudgeStats,
} from '../../../domain/judge/stats';

describe('agreementOf', () => {
  it("matches Cohen's kappa on the textbook 2x2 example (po 0.7, pe 0.5, kappa 0.4)", () => {
    // Wikipedia "Cohen's kappa", simple example: 50 proposals, A/B yes-yes 20, yes-no 5, no-yes 10, no-no 15.
    const agreement = agreementOf({ 'yes|yes': 20, 'yes|no': 5, 'no|yes': 10, 'no|no': 15 });
    expect(agreement.n).toBe(50);
    expect(agreement.accuracy).toBeCloseTo(0.7, 12);
    expect(agreement.kappa).toBeCloseTo(0.4, 12);
  });

  it('gives kappa 1 for perfect agreement over several categories and null when chance agreement is total', () => {
    expect(agreementOf({ '1|1': 3, '2|2': 4, '5|5': 1 })).toEqual({ n: 8, accuracy: 1, kappa: 1 });
    expect(agreementOf({ '3|3': 10 })).toEqual({ n: 10, accuracy: 1, kappa: null });
    expect(agreementOf({})).toEqual({ n: 0, accuracy: null, kappa: null });
  });

  it('is negative when raters disagree more than chance', () => {
    expect(agreementOf({ '1|2': 5, '2|1': 5 }).kappa).toBeCloseTo(-1, 12);
  });
});

describe('judge stats', () => {
  it('counts errors, pools repeat variance into a noise estimate and records judge-human agreement', () => {
    const state = emptyJudgeStats();
    addJudgedExample(state, { error: false, normalisedScores: [0.25, 0.75], rawMean: 3, humanScore: 3 });
    addJudgedExample(state, { error: false, normalisedScores: [0.5, 0.5], rawMean: 3, humanScore: 4 });
    addJudgedExample(state, { error: true, normalisedScores: [] });
    const summary = summariseJudgeStats(state);
    expect(summary).toMatchObject({ judged: 3, errors: 1 });
    expect(summary.errorRate).toBeCloseTo(1 / 3, 12);
    // Sample variances 0.125 and 0: pooled SD sqrt(0.0625) = 0.25; spreads 0.5 and 0.
    expect(summary.noise).toBeCloseTo(0.25, 12);
    expect(summary.meanSpread).toBeCloseTo(0.25, 12);
    expect(summary.human).toMatchObject({ n: 2, accuracy: 0.5 });
  });

  it('merges shard states into what one state of every example gives', () => {
    const examples = [
      { error: false, normalisedScores: [0, 0.25], rawMean: 1.5, humanScore: 2 },
      { error: false, normalisedScores: [1], rawMean: 5, humanScore: 5 },
      { error: true, normalisedScores: [] },
      { error: false, normalisedScores: [0.5, 0.75, 1], rawMean: 4, humanScore: 4 },
    ];
    const whole = emptyJudgeStats();
    for (const e of examples) addJudgedExample(whole, e);
    const a = emptyJudgeStats();
    const b = emptyJudgeStats();
    examples.forEach((e, i) => addJudgedExample(i % 2 ? a : b, e));
    const merged = mergeJudgeStats(mergeJudgeStats(emptyJudgeStats(), a), b);
    expect(summariseJudgeStats(merged)).toEqual(summariseJudgeStats(whole));
  });

  it('reports no noise without repeats', () => {
    const state = emptyJudgeStats();
    addJudgedExample(state, { error: false, normalisedScores: [0.5], rawMean: 3 });
    expect(summariseJudgeStats(state)).toMatchObject({ noise: null, meanSpread: null, human: { n: 0 } });
  });
});
