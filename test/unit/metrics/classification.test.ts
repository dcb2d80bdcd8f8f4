/**
 * Classification metrics against reference values. Sources are named per test:
 * scikit-learn docstrings (sklearn.metrics.*) and worked arithmetic.
 */
import { getMetricImpl } from '../../../domain/metrics/registry';
import { scoreExamples } from '../../../domain/metrics/state';
import { binary, cls, score, value } from './helpers';

const labelled = (yTrue: (string | number)[], yPred: (string | number)[]) =>
  yTrue.map((t, i) => cls(String(t), String(yPred[i])));

describe('accuracy', () => {
  it('matches the accuracy_score docstring', () => {
    // sklearn accuracy_score: y_pred = [0, 2, 1, 3], y_true = [0, 1, 2, 3] -> 0.5
    expect(score('accuracy', {}, labelled([0, 1, 2, 3], [0, 2, 1, 3]))).toEqual({ value: 0.5, n: 4 });
  });

  it('falls back to the argmax of the scores when no label is predicted', () => {
    expect(
      value('accuracy', {}, [cls('a', undefined, { a: 0.6, b: 0.4 }), cls('b', undefined, { a: 0.7, b: 0.3 })]),
    ).toBe(0.5);
  });

  it('skips examples without a truth label or any prediction', () => {
    expect(score('accuracy', {}, [cls(undefined, 'a'), cls('a'), cls('a', 'a')])).toEqual({ value: 1, n: 1 });
  });
});

describe('precision, recall, f1 averages', () => {
  // sklearn precision_score / recall_score / f1_score docstrings:
  // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
  // per class (0, 1, 2): precision [2/3, 0, 0], recall [1, 0, 0], f1 [0.8, 0, 0]
  const examples = labelled([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]);

  it.each([
    ['precision', 'macro', 2 / 9],
    ['precision', 'micro', 1 / 3],
    ['precision', 'weighted', 2 / 9],
    ['recall', 'macro', 1 / 3],
    ['recall', 'micro', 1 / 3],
    ['recall', 'weighted', 1 / 3],
    ['f1', 'macro', 0.8 / 3],
    ['f1', 'micro', 1 / 3],
    ['f1', 'weighted', 0.8 / 3],
  ] as const)('%s %s matches scikit-learn', (metric, average, expected) => {
    expect(value(metric, { average }, examples)).toBeCloseTo(expected, 12);
  });

  it('defaults to macro without a positive label', () => {
    expect(value('precision', {}, examples)).toBeCloseTo(2 / 9, 12);
  });

  it('matches precision_recall_fscore_support with string labels', () => {
    // sklearn precision_recall_fscore_support docstring: y_true = [cat, dog, pig, cat, dog, pig],
    // y_pred = [cat, pig, dog, cat, cat, dog] -> macro (0.22, 0.33, 0.26), micro (0.33, 0.33, 0.33)
    const ex = labelled(['cat', 'dog', 'pig', 'cat', 'dog', 'pig'], ['cat', 'pig', 'dog', 'cat', 'cat', 'dog']);
    expect(value('precision', { average: 'macro' }, ex)).toBeCloseTo(0.2222, 4);
    expect(value('recall', { average: 'macro' }, ex)).toBeCloseTo(0.3333, 4);
    expect(value('f1', { average: 'macro' }, ex)).toBeCloseTo(0.2667, 4);
    expect(value('f1', { average: 'micro' }, ex)).toBeCloseTo(0.3333, 4);
  });

  it('computes binary scores for the positive label (worked by hand)', () => {
    // y_true [1,1,1,0,0,0,0,1], y_pred [1,0,1,1,0,0,0,0]: TP = 2, FN = 2, FP = 1, TN = 3
    // precision = 2/3, recall = 2/4, f1 = 2TP / (2TP + FP + FN) = 4/7
    const ex = labelled([1, 1, 1, 0, 0, 0, 0, 1], [1, 0, 1, 1, 0, 0, 0, 0]);
    expect(value('precision', { positiveLabel: '1' }, ex)).toBeCloseTo(2 / 3, 12);
    expect(value('recall', { positiveLabel: '1' }, ex)).toBe(0.5);
    expect(value('f1', { positiveLabel: '1', average: 'binary' }, ex)).toBeCloseTo(4 / 7, 12);
  });

  it('makes binary recall undefined (null, with a reason) when there are no positives', () => {
    const ex = labelled([0, 0, 0], [1, 0, 0]);
    expect(score('recall', { positiveLabel: '1' }, ex)).toEqual({ value: null, n: 3, reason: 'no_positive_labels' });
    expect(value('precision', { positiveLabel: '1' }, ex)).toBe(0);
    expect(score('precision', { positiveLabel: '1' }, labelled([1, 0], [0, 0]))).toEqual({
      value: null,
      n: 2,
      reason: 'no_positive_predictions',
    });
    expect(score('f1', { positiveLabel: '1' }, labelled([0, 0], [0, 0])).reason).toBe(
      'no_positive_labels_or_predictions',
    );
  });

  it('makes binary f1 undefined on data without positive labels (a slice of ham), never 0 with a zero-width interval', () => {
    // Two false positives and no positive label: F1 = 2TP / (2TP + FP + FN) = 0 / 2 in f1@1.0.0.
    const hamOnly = labelled([0, 0, 0], [1, 1, 0]);
    expect(score('f1', { positiveLabel: '1' }, hamOnly)).toEqual({ value: null, n: 3, reason: 'no_positive_labels' });
    const old = getMetricImpl('f1', '1.0.0');
    expect(scoreExamples(old, { average: 'binary', positiveLabel: '1' }, hamOnly).value).toBe(0);
    // With positives present nothing changes: 1 TP, 1 FP, 1 FN -> 2/4.
    expect(value('f1', { positiveLabel: '1' }, labelled([1, 1, 0], [1, 0, 1]))).toBe(0.5);
  });

  it('counts a class that is never predicted as precision 0 in a macro average (zero_division=0)', () => {
    // classes a (P = 1/2) and b (never predicted: 0/0 -> 0): macro = 1/4
    expect(value('precision', { average: 'macro' }, labelled(['a', 'b'], ['a', 'a']))).toBe(0.25);
  });

  it('rejects binary averaging without a positive label, and unknown params', () => {
    expect(() => score('f1', { average: 'binary' }, [])).toThrow(/positiveLabel/);
    expect(() => score('f1', { averaging: 'macro' }, [])).toThrow();
  });
});

describe('roc_auc and pr_auc', () => {
  // sklearn roc_auc_score / average_precision_score docstrings:
  // y_true = [0, 0, 1, 1], y_scores = [0.1, 0.4, 0.35, 0.8] -> 0.75 and 0.8333...
  const docs = [binary(0, 0.1), binary(0, 0.4), binary(1, 0.35), binary(1, 0.8)];

  it('matches roc_auc_score', () => {
    expect(score('roc_auc', { positiveLabel: '1' }, docs)).toEqual({ value: 0.75, n: 4 });
  });

  it('matches average_precision_score (step function, no interpolation)', () => {
    // thresholds 0.8 (P=1, R=.5), 0.4 (P=1/2, R=.5), 0.35 (P=2/3, R=1): 0.5*1 + 0.5*2/3
    expect(value('pr_auc', { positiveLabel: '1' }, docs)).toBeCloseTo(5 / 6, 12);
  });

  it('gives tied positive/negative scores half credit', () => {
    // pairs (pos, neg): (0.5, 0.2) 1, (0.5, 0.5) 1/2, (0.9, *) 2 -> 3.5 / 4
    const ex = [binary(0, 0.2), binary(1, 0.5), binary(0, 0.5), binary(1, 0.9)];
    expect(value('roc_auc', { positiveLabel: '1' }, ex)).toBe(0.875);
    expect(value('roc_auc', { positiveLabel: '1' }, [binary(0, 0.5), binary(1, 0.5)])).toBe(0.5);
  });

  it('treats tied scores as one threshold in average precision', () => {
    // one threshold at 0.5 holding 1 positive and 1 negative: P = 1/2, R = 1
    expect(value('pr_auc', { positiveLabel: '1' }, [binary(0, 0.5), binary(1, 0.5)])).toBe(0.5);
  });

  it('is undefined (null, with a reason) for a single class', () => {
    const ex = [binary(1, 0.3), binary(1, 0.9)];
    expect(score('roc_auc', { positiveLabel: '1' }, ex)).toEqual({ value: null, n: 2, reason: 'single_class' });
    expect(score('pr_auc', { positiveLabel: '1' }, [binary(0, 0.3)])).toEqual({
      value: null,
      n: 1,
      reason: 'single_class',
    });
  });

  it('averages one-vs-rest AUCs over classes for multiclass (worked by hand)', () => {
    const ex = [
      cls('a', undefined, { a: 0.7, b: 0.2, c: 0.1 }),
      cls('b', undefined, { a: 0.3, b: 0.5, c: 0.2 }),
      cls('c', undefined, { a: 0.2, b: 0.3, c: 0.5 }),
      cls('a', undefined, { a: 0.4, b: 0.4, c: 0.2 }),
      cls('b', undefined, { a: 0.5, b: 0.3, c: 0.2 }),
    ];
    // a: pos {.7,.4} vs neg {.3,.2,.5}: 3 + 2 = 5/6
    // b: pos {.5,.3} vs neg {.2,.3,.4}: 3 + (1 + 1/2) = 4.5/6
    // c: pos {.5} vs neg {.1,.2,.2,.2}: 4/4
    expect(value('roc_auc', {}, ex)).toBeCloseTo((5 / 6 + 0.75 + 1) / 3, 12);
  });
});

describe('log_loss, brier, ece', () => {
  it('matches the log_loss docstring', () => {
    // sklearn log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) -> 0.21616...
    // columns are the sorted labels (ham, spam): -(ln .9 + ln .9 + ln .8 + ln .65) / 4
    const ex = [
      cls('spam', undefined, { ham: 0.1, spam: 0.9 }),
      cls('ham', undefined, { ham: 0.9, spam: 0.1 }),
      cls('ham', undefined, { ham: 0.8, spam: 0.2 }),
      cls('spam', undefined, { ham: 0.35, spam: 0.65 }),
    ];
    expect(value('log_loss', {}, ex)).toBeCloseTo(0.21616, 5);
    expect(value('log_loss', { positiveLabel: 'spam' }, ex)).toBeCloseTo(0.21616, 5);
  });

  it('normalises scores to sum 1 and clips probabilities to [1e-15, 1 - 1e-15]', () => {
    expect(value('log_loss', {}, [cls('a', undefined, { a: 2, b: 2 })])).toBeCloseTo(Math.LN2, 12);
    expect(value('log_loss', {}, [cls('a', undefined, { a: 0, b: 1 })])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(value('log_loss', { positiveLabel: '1' }, [binary(1, 1)])).toBeCloseTo(-Math.log(1 - 1e-15), 6);
  });

  it('matches the brier_score_loss docstring', () => {
    // sklearn brier_score_loss: y_true = [0, 1, 1, 0], y_prob = [0.1, 0.9, 0.8, 0.3] -> 0.0375
    // (0.01 + 0.01 + 0.04 + 0.09) / 4
    const ex = [binary(0, 0.1), binary(1, 0.9), binary(1, 0.8), binary(0, 0.3)];
    expect(value('brier', { positiveLabel: '1' }, ex)).toBeCloseTo(0.0375, 12);
    // same docstring, pos_label="ham" on y_true_categorical = ["spam", "ham", "ham", "spam"]
    const cat = ['spam', 'ham', 'ham', 'spam'].map((y, i) => cls(y, undefined, { ham: [0.1, 0.9, 0.8, 0.3][i] }));
    expect(value('brier', { positiveLabel: 'ham' }, cat)).toBeCloseTo(0.0375, 12);
  });

  it('sums squared errors over classes for multiclass brier', () => {
    // sklearn >= 1.7 brier_score_loss docstring: ["eggs","ham","spam"] with
    // [[.8,.1,.1],[.2,.7,.1],[.2,.2,.6]] -> 0.146...: (0.06 + 0.14 + 0.24) / 3
    const ex = [
      cls('eggs', undefined, { eggs: 0.8, ham: 0.1, spam: 0.1 }),
      cls('ham', undefined, { eggs: 0.2, ham: 0.7, spam: 0.1 }),
      cls('spam', undefined, { eggs: 0.2, ham: 0.2, spam: 0.6 }),
    ];
    expect(value('brier', {}, ex)).toBeCloseTo(0.44 / 3, 12);
  });

  it('computes ECE on max-probability confidence bins (worked by hand)', () => {
    // conf .9 correct (bin 9), .8 wrong (bin 8), .6 correct and .65 correct (bin 6)
    // ECE = (|1 - .9| + |0 - .8| + |2 - 1.25|) / 4 = 1.65 / 4
    const ex = [
      cls('a', undefined, { a: 0.9, b: 0.1 }),
      cls('b', undefined, { a: 0.8, b: 0.2 }),
      cls('a', undefined, { a: 0.6, b: 0.4 }),
      cls('b', undefined, { a: 0.35, b: 0.65 }),
    ];
    expect(value('ece', {}, ex)).toBeCloseTo(0.4125, 12);
    // one bin: |3 - (.9 + .8 + .6 + .65)| / 4
    expect(value('ece', { bins: 1 }, ex)).toBeCloseTo(Math.abs(3 - 2.95) / 4, 12);
  });

  it('skips examples without usable scores', () => {
    expect(score('log_loss', {}, [cls('a', 'a'), cls('a', undefined, { a: -1, b: 2 })])).toEqual({
      value: null,
      n: 0,
      reason: 'no_examples',
    });
  });
});
