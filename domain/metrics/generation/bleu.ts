/**
 * bleu@1.0.0 — corpus BLEU-4 (Papineni et al. 2002), one reference per example, uniform
 * weights, no smoothing, on lower-cased whitespace tokens (text.ts).
 *   p_n = (sum over examples of clipped n-gram matches) / (sum of output n-grams), n = 1..4
 *   BP  = 1 if c > r else exp(1 - r/c)   (c, r: total output and reference lengths)
 *   BLEU = BP * exp(mean_n ln p_n), and 0 when any p_n = 0 (no smoothing) or c = 0.
 * The state is the 10 integer totals (matches_n, totals_n, c, r), so merging shards is exact
 * and equals BLEU over the whole corpus — not a mean of per-example BLEU.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { ngramCounts, whitespaceTokens } from './text';

const MATCH_KEYS = ['m1', 'm2', 'm3', 'm4'];
const TOTAL_KEYS = ['t1', 't2', 't3', 't4'];

export const bleu = defineMetric({
  id: 'bleu',
  version: '1.0.0',
  taskTypes: ['generation'],
  params: z.object({}).strict(),
  observe(ex, _params, out) {
    const output = ex.prediction.output;
    if (output === undefined || ex.reference === undefined) return false;
    const hyp = whitespaceTokens(output);
    const ref = whitespaceTokens(ex.reference);
    out.count('c', hyp.length);
    out.count('r', ref.length);
    for (let order = 1; order <= 4; order++) {
      const refCounts = ngramCounts(ref, order);
      let matches = 0;
      for (const [gram, count] of ngramCounts(hyp, order)) matches += Math.min(count, refCounts.get(gram) ?? 0);
      out.count(MATCH_KEYS[order - 1], matches);
      out.count(TOTAL_KEYS[order - 1], Math.max(0, hyp.length - order + 1));
    }
    return true;
  },
  compute(stats) {
    const n = stats.n();
    if (n === 0) return undefinedOutcome(NO_EXAMPLES, 0);
    const c = stats.count('c');
    const r = stats.count('r');
    let logPrecision = 0;
    for (let i = 0; i < 4; i++) {
      const matches = stats.count(MATCH_KEYS[i]);
      if (matches === 0) return outcome(0, n);
      logPrecision += Math.log(matches / stats.count(TOTAL_KEYS[i])) / 4;
    }
    const brevity = c > r ? 1 : Math.exp(1 - r / c);
    return outcome(brevity * Math.exp(logPrecision), n);
  },
});
