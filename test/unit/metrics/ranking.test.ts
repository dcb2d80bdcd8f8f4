/**
 * Ranking/retrieval metrics against reference values: scikit-learn's ndcg_score docstring
 * (linear gain) and worked arithmetic for exponential gain, MRR, recall/precision@k and AP.
 */
import { rank, score, value } from './helpers';

describe('ndcg', () => {
  // sklearn ndcg_score docstring: true_relevance = [[10, 0, 0, 1, 5]] (docs d0..d4)
  const relevance = { d0: 10, d1: 0, d2: 0, d3: 1, d4: 5 };

  it('matches ndcg_score with linear gain', () => {
    // scores [.1, .2, .3, 4, 70] rank d4 d3 d2 d1 d0 -> 0.69...
    // DCG = 5 + 1/log2(3) + 10/log2(6) = 9.4994; IDCG = 10 + 5/log2(3) + 1/2 = 13.6546
    expect(value('ndcg', { gain: 'linear' }, [rank(relevance, ['d4', 'd3', 'd2', 'd1', 'd0'])])).toBeCloseTo(0.6957, 4);
    // scores [.05, 1.1, 1., .5, .0] rank d1 d2 d3 d0 d4 -> 0.49..., and with k=4 -> 0.35...
    // DCG = 1/2 + 10/log2(5) + 5/log2(6) = 6.7411; DCG@4 = 4.8068
    const second = rank(relevance, ['d1', 'd2', 'd3', 'd0', 'd4']);
    expect(value('ndcg', { gain: 'linear' }, [second])).toBeCloseTo(0.4937, 4);
    expect(value('ndcg', { gain: 'linear', k: 4 }, [second])).toBeCloseTo(0.352, 3);
    // ndcg_score(true_relevance, true_relevance, k=4) -> 1.0
    expect(value('ndcg', { gain: 'linear', k: 4 }, [rank(relevance, ['d0', 'd4', 'd3', 'd1'])])).toBe(1);
  });

  it('uses gain 2^rel - 1 by default (worked by hand)', () => {
    // relevance a:3 b:2 c:0 d:1, ranking b a d c, k = 3
    // DCG@3 = (2^2-1)/log2 2 + (2^3-1)/log2 3 + (2^1-1)/log2 4 = 3 + 7/log2(3) + 1/2
    // IDCG@3 = 7 + 3/log2(3) + 1/2
    const expected = (3 + 7 / Math.log2(3) + 0.5) / (7 + 3 / Math.log2(3) + 0.5);
    expect(value('ndcg', { k: 3 }, [rank({ a: 3, b: 2, c: 0, d: 1 }, ['b', 'a', 'd', 'c'])])).toBeCloseTo(expected, 9);
    expect(expected).toBeCloseTo(0.8428, 4);
  });

  it('counts a query with no relevant documents as 0', () => {
    const out = score('ndcg', { k: 5 }, [rank({ a: 1 }, ['a']), rank({ a: 0 }, ['a', 'b'])]);
    expect(out).toEqual({ value: 0.5, n: 2 });
  });

  it('allows k larger than the ranking', () => {
    expect(value('ndcg', { k: 100 }, [rank({ a: 1, b: 1 }, ['a'])])).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
  });
});

describe('mrr, recall_at_k, precision_at_k, map', () => {
  it('averages reciprocal ranks, 0 when nothing relevant is ranked', () => {
    // 1/2, 1/1, 0 -> 0.5
    const ex = [rank({ b: 1 }, ['a', 'b']), rank({ a: 2 }, ['a', 'b']), rank({ c: 1 }, ['a', 'b'])];
    expect(score('mrr', {}, ex)).toEqual({ value: 0.5, n: 3 });
  });

  it('divides recall@k by all relevant documents', () => {
    // relevant a b c d, top-2 = a x -> 1/4
    expect(value('recall_at_k', { k: 2 }, [rank({ a: 1, b: 1, c: 1, d: 1 }, ['a', 'x', 'b'])])).toBe(0.25);
  });

  it('divides precision@k by k even when the ranking is shorter', () => {
    expect(value('precision_at_k', { k: 5 }, [rank({ a: 1, b: 1 }, ['a', 'b'])])).toBe(0.4);
  });

  it('counts a repeated document once', () => {
    expect(value('precision_at_k', { k: 3 }, [rank({ a: 1 }, ['a', 'a', 'a'])])).toBeCloseTo(1 / 3, 12);
    expect(value('map', {}, [rank({ a: 1, b: 1 }, ['a', 'a', 'b'])])).toBeCloseTo((1 + 2 / 3) / 2, 12);
  });

  it('computes AP over all relevant documents (trec_eval; worked by hand)', () => {
    // relevant a b c; ranking a x b y: precision at the hits 1/1 and 2/3; c never retrieved
    // AP = (1 + 2/3) / 3; second query AP = 1 -> MAP = (5/9 + 1) / 2
    const ex = [rank({ a: 1, b: 2, c: 1 }, ['a', 'x', 'b', 'y']), rank({ z: 1 }, ['z'])];
    expect(value('map', {}, ex)).toBeCloseTo((5 / 9 + 1) / 2, 12);
  });

  it('treats grades <= 0 as not relevant', () => {
    expect(value('mrr', {}, [rank({ a: -1, b: 0, c: 1 }, ['a', 'b', 'c'])])).toBeCloseTo(1 / 3, 12);
  });

  it('skips examples without a relevance map or a ranking, and scores an empty ranking 0', () => {
    const noRanking = { id: 'q', tags: [], relevance: { a: 1 }, prediction: {} };
    expect(score('mrr', {}, [noRanking])).toEqual({ value: null, n: 0, reason: 'no_examples' });
    expect(score('recall_at_k', { k: 3 }, [rank({ a: 1 }, [])])).toEqual({ value: 0, n: 1 });
  });

  it('requires k for the @k metrics', () => {
    expect(() => score('precision_at_k', {}, [])).toThrow();
    expect(() => score('recall_at_k', { k: 0 }, [])).toThrow();
  });
});
