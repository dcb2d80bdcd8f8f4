/**
 * The shape rouge_l and token_f1 share: a per-example score in [0, 1] of the output against
 * the reference, averaged over the examples that have both. State: n and an exact
 * fixed-point sum of the scores under `feature`.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import type { MetricId } from '../types';

export function defineMeanReferenceScore<const Id extends MetricId>(def: {
  id: Id;
  version: string;
  feature: string;
  score: (output: string, reference: string) => number;
}) {
  return defineMetric({
    id: def.id,
    version: def.version,
    taskTypes: ['generation'],
    params: z.object({}).strict(),
    observe(ex, _params, out) {
      const output = ex.prediction.output;
      if (output === undefined || ex.reference === undefined) return false;
      out.real(def.feature, def.score(output, ex.reference));
      return true;
    },
    compute(stats) {
      const n = stats.n();
      return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(stats.real(def.feature) / n, n);
    },
  });
}
