/**
 * exact_match@1.0.0 — 1 when the SQuAD-normalised output equals the SQuAD-normalised
 * reference (text.ts: lower-case, no punctuation, no articles a/an/the, collapsed
 * whitespace), else 0; averaged. Examples without an output or a reference are skipped.
 * State: n and matches (integers).
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { normalizeAnswer } from './text';

export const exactMatch = defineMetric({
  id: 'exact_match',
  version: '1.0.0',
  taskTypes: ['generation'],
  params: z.object({}).strict(),
  observe(ex, _params, out) {
    const output = ex.prediction.output;
    if (output === undefined || ex.reference === undefined) return false;
    if (normalizeAnswer(output) === normalizeAnswer(ex.reference)) out.count('match', 1);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.count('match') / n, n);
  },
});
