/**
 * The pure comparison: the same predictions give the same numbers whatever the order they
 * arrive in, and — for right/wrong outcomes — whatever the seed, because the delta interval
 * is Tango's score interval from the discordant counts.
 */
import { createRunComparer, type ComparedPair } from '../../../domain/comparison/compareRuns';
import { tangoInterval } from '../../../domain/stats/pairedProportions';

const metrics = [
  { name: 'accuracy', metric: 'accuracy', implVersion: '1.0.0' },
  { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' }, implVersion: '1.1.0' },
];

/** 200 emails: the baseline is right on 180, the candidate loses 9 of those and gains 5 others. */
function pairs(): ComparedPair[] {
  const out: ComparedPair[] = [];
  for (let i = 0; i < 200; i++) {
    const label = i % 3 === 0 ? 'spam' : 'ham';
    const wrong = label === 'spam' ? 'ham' : 'spam';
    const baselineRight = i >= 20;
    const candidateRight = baselineRight ? !(i >= 20 && i < 29) : i < 5;
    const tags = [label === 'spam' ? 'spam' : 'ham'];
    const record = (right: boolean) => ({
      id: `e${i}`,
      tags,
      label,
      prediction: { label: right ? label : wrong },
      correct: right,
    });
    out.push({ tags, candidate: record(candidateRight), baseline: record(baselineRight) });
  }
  return out;
}

const compare = (seed: string, order: ComparedPair[], confidences: number[] = []) => {
  const comparer = createRunComparer({ seed, metrics, confidences, replicates: 200 });
  for (const pair of order) comparer.add(pair);
  return comparer.finish({ paired: order.length, candidateOnly: 0, baselineOnly: 0, errored: 0 });
};

describe('createRunComparer', () => {
  it('compares accuracy by the discordant counts: Tango interval, McNemar p-value', () => {
    const accuracy = compare('s1', pairs(), [0.9]).metrics.accuracy;
    expect(accuracy).toMatchObject({ regressed: 9, improved: 5, n: 200, intervalMethod: 'tango_score' });
    expect(accuracy.delta).toBeCloseTo(-4 / 200, 14);
    const counts = { n: 200, regressed: 9, improved: 5 };
    expect([accuracy.deltaCiLow, accuracy.deltaCiHigh]).toEqual(tangoInterval(counts, 0.95));
    expect(accuracy.intervals?.['0.9']).toEqual(tangoInterval(counts, 0.9));
    expect(accuracy.pValueMethod).toBe('mcnemar_exact');
  });

  it('gives bit-identical accuracy evidence whatever the seed, and everything identical for one seed in any order', () => {
    const a = compare('seed-a', pairs(), [0.9]);
    const b = compare('seed-b', [...pairs()].reverse(), [0.9]);
    expect(b.metrics.accuracy).toEqual(a.metrics.accuracy);
    expect(compare('seed-a', [...pairs()].reverse(), [0.9])).toEqual(a);
  });

  it('reports a metric undefined on a slice as null with its reason, not 0', () => {
    const f1 = compare('s', pairs()).metrics.f1_spam;
    expect(f1.slices.ham).toMatchObject({ candidate: null, delta: null, deltaCiLow: null });
    expect(f1.slices.ham.reason).toMatch(/no_positive_labels/);
  });
});
