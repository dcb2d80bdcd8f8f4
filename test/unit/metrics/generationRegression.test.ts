/**
 * Generation and regression metrics against reference values: SQuAD's evaluate-v1.1.py
 * normalisation and F1, ROUGE-L and BLEU definitions worked by hand, and scikit-learn's
 * mean_absolute_error / mean_squared_error docstrings.
 */
import {
  createAccumulator,
  finalizeAccumulator,
  mergeAccumulatorStates,
  normalizeAnswer,
} from '../../../domain/metrics';
import { gen, reg, score, value } from './helpers';

describe('SQuAD normalisation (evaluate-v1.1.py normalize_answer)', () => {
  it.each([
    ['The Eiffel Tower!', 'eiffel tower'], // lower, remove_punc, remove_articles, white_space_fix
    ['  An apple a day.  ', 'apple day'],
    ['the theory of everything', 'theory of everything'], // articles only as whole words
    ["Rock 'n' Roll", 'rock n roll'],
    ['Über the top', 'über top'], // Python's \b is Unicode-aware
    ['théa', 'théa'], // "a" after a non-ASCII letter is not a word
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeAnswer(input)).toBe(expected);
  });
});

describe('exact_match and token_f1', () => {
  it('matches after normalisation', () => {
    expect(score('exact_match', {}, [gen('the Eiffel Tower!', 'Eiffel tower'), gen('Paris', 'Lyon')])).toEqual({
      value: 0.5,
      n: 2,
    });
  });

  it('computes SQuAD token F1 (worked by hand)', () => {
    // normalised: [cat, sat, on, mat] vs [cat, sat, on, hat]: common 3, P = R = 3/4 -> F1 = 3/4
    expect(value('token_f1', {}, [gen('The cat sat on the mat.', 'A cat sat on a hat')])).toBe(0.75);
    // "a b b" normalises to [b, b] (article dropped); overlap with [b] is 1: P = 1/2, R = 1 -> F1 = 2/3
    expect(value('token_f1', {}, [gen('a b b', 'b')])).toBeCloseTo(2 / 3, 12);
  });

  it('scores empty-vs-empty 1 and empty-vs-text 0 (SQuAD v2.0 rule)', () => {
    expect(value('token_f1', {}, [gen('the', 'a')])).toBe(1);
    expect(value('token_f1', {}, [gen('', 'answer')])).toBe(0);
  });

  it('skips examples without an output (the runner decides how failures count)', () => {
    expect(score('exact_match', {}, [gen(undefined, 'x')])).toEqual({ value: null, n: 0, reason: 'no_examples' });
  });
});

describe('rouge_l', () => {
  it('matches Lin (2004) section 3.1 examples', () => {
    // reference "police killed the gunman"
    // "police kill the gunman": LCS = police the gunman = 3, P = R = 3/4 -> F = 0.75
    // "the gunman kill police": LCS = the gunman = 2, P = R = 2/4 -> F = 0.5
    expect(value('rouge_l', {}, [gen('police kill the gunman', 'police killed the gunman')])).toBe(0.75);
    expect(value('rouge_l', {}, [gen('the gunman kill police', 'police killed the gunman')])).toBe(0.5);
  });

  it('uses beta = 1 with unequal lengths (worked by hand)', () => {
    // output "a b c d e f" (6), reference "a c f" (3): LCS 3, P = 1/2, R = 1 -> F = 2/3
    expect(value('rouge_l', {}, [gen('A b C d e F', 'a c f')])).toBeCloseTo(2 / 3, 12);
    expect(value('rouge_l', {}, [gen('', 'a')])).toBe(0);
  });
});

describe('bleu (corpus BLEU-4, no smoothing)', () => {
  const first = gen('the cat sat on the mat', 'the cat is on the mat');
  const second = gen('a quick brown fox jumps', 'a quick brown fox leaps high');

  it('is 0 for a sentence without 4-gram matches', () => {
    // first alone: p1 = 5/6, p2 = 3/5, p3 = 1/4 ("on the mat"), p4 = 0/3 -> 0
    expect(value('bleu', {}, [first])).toBe(0);
  });

  it('pools clipped n-gram counts over the corpus (worked by hand)', () => {
    // second: p1 = 4/5, p2 = 3/4, p3 = 2/3, p4 = 1/2; lengths c = 5, r = 6
    // corpus: p1 = 9/11, p2 = 6/9, p3 = 3/7, p4 = 1/5; c = 11, r = 12 -> BP = exp(1 - 12/11)
    // BLEU = exp(-1/11) * (9/11 * 6/9 * 3/7 * 1/5)^(1/4) = exp(-1/11) * (54/1155)^(1/4) = 0.4250
    const expected = Math.exp(-1 / 11) * Math.pow(54 / 1155, 0.25);
    expect(value('bleu', {}, [first, second])).toBeCloseTo(expected, 12);
    expect(expected).toBeCloseTo(0.425, 3);
  });

  it('clips repeated n-grams to their reference count', () => {
    // Papineni et al. 2002: "the the the the the the the" vs "the cat is on the mat": p1 = 2/7, p2..4 = 0
    expect(value('bleu', {}, [gen('the the the the the the the', 'the cat is on the mat')])).toBe(0);
  });

  it('merges shard states to exactly the corpus value', () => {
    const spec = { seed: 's', replicates: 0, metrics: [{ name: 'bleu', metric: 'bleu' as const }] };
    const a = createAccumulator(spec);
    const b = createAccumulator(spec);
    a.add(first);
    b.add(second);
    const merged = finalizeAccumulator(spec, mergeAccumulatorStates(spec, [a.toJSON(), b.toJSON()]));
    expect(merged.bleu.value).toBe(value('bleu', {}, [first, second]));
  });
});

describe('judge_score', () => {
  it('averages over judged examples only (absent = judge error, skipped)', () => {
    expect(score('judge_score', {}, [gen('x', 'y', 1), gen('x', 'y', 0.5), gen('x', 'y'), gen('x', 'y', 0)])).toEqual({
      value: 0.5,
      n: 3,
    });
  });
});

describe('mae and rmse', () => {
  // sklearn mean_absolute_error / mean_squared_error / root_mean_squared_error docstrings:
  // y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8] -> MAE 0.5, MSE 0.375, RMSE 0.612...
  const ex = [reg(3, 2.5), reg(-0.5, 0), reg(2, 2), reg(7, 8)];

  it('matches scikit-learn', () => {
    expect(score('mae', {}, ex)).toEqual({ value: 0.5, n: 4 });
    expect(value('rmse', {}, ex)).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(value('rmse', {}, ex)).toBeCloseTo(0.6124, 4);
  });

  it('handles magnitudes far from 1 without losing relative precision', () => {
    const big = [reg(0, 3e12), reg(0, 1e12)];
    expect(value('mae', {}, big) / 2e12).toBeCloseTo(1, 9);
    const tiny = [reg(0, 3e-9), reg(0, 1e-9)];
    expect(value('mae', {}, tiny) / 2e-9).toBeCloseTo(1, 9);
  });

  it('skips non-finite predictions', () => {
    expect(score('mae', {}, [reg(1, NaN), reg(1, Infinity)])).toEqual({ value: null, n: 0, reason: 'no_examples' });
  });
});
