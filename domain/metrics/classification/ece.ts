/**
 * ece@1.0.0 — expected calibration error (Guo et al. 2017): equal-width bins on the
 * confidence = max normalised probability; ECE = sum_b (n_b / N) |accuracy_b - confidence_b|.
 * The predicted class is the argmax of the scores (ties: smallest label) — not
 * `prediction.label`, so confidence and correctness describe the same prediction.
 * Bin b holds confidences in [b/bins, (b+1)/bins); a confidence of 1 goes to the last bin.
 * State per bin: n, hits (integers) and an exact fixed-point sum of confidences.
 */
import { z } from 'zod';
import { defineMetric, NO_EXAMPLES, outcome, undefinedOutcome } from '../state';
import { argmaxLabel, scoreTotal } from './common';

const eceParams = z.object({ bins: z.number().int().min(1).max(1000).default(10) }).strict();

const binKeys = (prefix: string): string[] =>
  Array.from({ length: 1000 }, (_, b) => `${prefix}${String(b).padStart(4, '0')}`);
const N_KEYS = binKeys('n:');
const HIT_KEYS = binKeys('hit:');
const CONF_KEYS = binKeys('conf:');

export const ece = defineMetric({
  id: 'ece',
  version: '1.0.0',
  taskTypes: ['classification'],
  params: eceParams,
  observe(ex, params, out) {
    const scores = ex.prediction.scores;
    if (ex.label === undefined || !scores) return false;
    const sum = scoreTotal(scores);
    const predicted = argmaxLabel(scores);
    if (Number.isNaN(sum) || predicted === undefined) return false;
    const confidence = scores[predicted] / sum;
    const bin = Math.min(Math.floor(confidence * params.bins), params.bins - 1);
    out.count(N_KEYS[bin], 1);
    if (predicted === ex.label) out.count(HIT_KEYS[bin], 1);
    out.real(CONF_KEYS[bin], confidence);
    return true;
  },
  compute(stats, params) {
    let n = 0;
    let gap = 0;
    for (let b = 0; b < params.bins; b++) {
      const nb = stats.count(N_KEYS[b]);
      if (nb === 0) continue;
      n += nb;
      gap += Math.abs(stats.count(HIT_KEYS[b]) - stats.real(CONF_KEYS[b]));
    }
    return n === 0 ? undefinedOutcome(NO_EXAMPLES, 0) : outcome(gap / n, n);
  },
});
