/**
 * judge_score@1.0.0 — mean of the judge's normalised score over examples that have one.
 * An absent or non-finite judgeScore (judge error) skips the example, so n counts judged
 * examples only. Values are used as given (the runner normalises to [0,1]).
 * State: n and an exact fixed-point sum.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';

export const judgeScore = defineMetric({
  id: 'judge_score',
  version: '1.0.0',
  taskTypes: ['generation'],
  params: z.object({}).strict(),
  observe(ex, _params, out) {
    if (ex.judgeScore === undefined || !Number.isFinite(ex.judgeScore)) return false;
    out.real('score', ex.judgeScore);
    return true;
  },
  compute(stats) {
    const n = stats.n();
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real('score') / n, n);
  },
});
