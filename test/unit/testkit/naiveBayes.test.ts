import { fitTemperature, trainNaiveBayes } from '../../../testkit/modelServer/models/naiveBayes';
import { sigmoid } from '../../../testkit/modelServer/models/text';

/*
 * Worked by hand, alpha = 1 (Laplace):
 *   spam: "free free money", "free offer"   (5 tokens)   ham: "meeting money" (2 tokens)
 *   V = {free, money, offer, meeting}, |V| = 4
 *   P(spam) = 2/3, P(ham) = 1/3
 *   P(w|spam) = (count + 1) / (5 + 4):  free 4/9, money 2/9, offer 2/9, meeting 1/9
 *   P(w|ham)  = (count + 1) / (2 + 4):  free 1/6, money 2/6, offer 1/6, meeting 2/6
 *   log joint("free money"), spam = log(2/3 · 4/9 · 2/9) = log(16/243)
 *   log joint("free money"), ham  = log(1/3 · 1/6 · 2/6) = log(1/54)
 *   log odds = log((16/243) / (1/54)) = log(32/9)
 */
const docs = [
  { tokens: ['free', 'free', 'money'], label: 'spam' as const },
  { tokens: ['free', 'offer'], label: 'spam' as const },
  { tokens: ['meeting', 'money'], label: 'ham' as const },
];

describe('multinomial naive Bayes', () => {
  const model = trainNaiveBayes(docs, ['ham', 'spam'], { alpha: 1 });

  it('has the hand-computed priors and smoothed likelihoods', () => {
    expect(model.vocabularySize).toBe(4);
    expect(model.logPrior('spam')).toBeCloseTo(Math.log(2 / 3), 12);
    expect(model.logPrior('ham')).toBeCloseTo(Math.log(1 / 3), 12);
    expect(model.logLikelihood('free', 'spam')).toBeCloseTo(Math.log(4 / 9), 12);
    expect(model.logLikelihood('meeting', 'spam')).toBeCloseTo(Math.log(1 / 9), 12);
    expect(model.logLikelihood('free', 'ham')).toBeCloseTo(Math.log(1 / 6), 12);
    expect(model.logLikelihood('money', 'ham')).toBeCloseTo(Math.log(2 / 6), 12);
    expect(model.logLikelihood('unseen', 'ham')).toBeUndefined();
  });

  it('sums log prior and log likelihoods, ignoring unseen words', () => {
    expect(model.logJoint(['free', 'money', 'unseen'], 'spam')).toBeCloseTo(Math.log(16 / 243), 12);
    expect(model.logJoint(['free', 'money', 'unseen'], 'ham')).toBeCloseTo(Math.log(1 / 54), 12);
    expect(model.logOdds(['free', 'money'])).toBeCloseTo(Math.log(32 / 9), 12);
    expect(model.logOdds([])).toBeCloseTo(Math.log(2), 12);
  });

  it('uses add-alpha smoothing for other alphas: alpha 0.5 gives P(meeting|spam) = 0.5 / 7', () => {
    const lidstone = trainNaiveBayes(docs, ['ham', 'spam'], { alpha: 0.5 });
    expect(lidstone.logLikelihood('meeting', 'spam')).toBeCloseTo(Math.log(0.5 / 7), 12);
    expect(lidstone.logLikelihood('free', 'spam')).toBeCloseTo(Math.log(3.5 / 7), 12);
  });

  it('refuses training data with a label missing', () => {
    expect(() => trainNaiveBayes([docs[0]], ['ham', 'spam'])).toThrow(/both labels/);
  });
});

describe('fitTemperature', () => {
  it('recovers the temperature that generated the labels', () => {
    const logOdds: number[] = [];
    const positives: boolean[] = [];
    for (const x of [-12, -8, -4, 0, 4, 8, 12]) {
      const positiveCount = Math.round(1000 * sigmoid(x / 4));
      for (let i = 0; i < 1000; i++) {
        logOdds.push(x);
        positives.push(i < positiveCount);
      }
    }
    expect(fitTemperature(logOdds, positives)).toBeCloseTo(4, 1);
  });
});
