/**
 * token_f1@1.0.0 — SQuAD token F1 on SQuAD-normalised tokens (text.ts): with the multiset
 * overlap c of output and reference tokens, P = c/|output|, R = c/|reference|,
 * F1 = 2PR/(P+R), 0 when c = 0. If either side has no tokens, F1 = 1 when both are empty
 * else 0 (SQuAD v2.0's rule; v1.1 gave 0 for two empty strings). Averaged over examples
 * with an output and a reference. State: n and an exact fixed-point sum of F1.
 */
import { defineMeanReferenceScore } from './meanScore';
import { normalizedTokens } from './text';

export function tokenF1Score(output: string, reference: string): number {
  const predicted = normalizedTokens(output);
  const truth = normalizedTokens(reference);
  if (predicted.length === 0 || truth.length === 0) return predicted.length === truth.length ? 1 : 0;
  const remaining = new Map<string, number>();
  for (const t of truth) remaining.set(t, (remaining.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of predicted) {
    const left = remaining.get(t) ?? 0;
    if (left > 0) {
      remaining.set(t, left - 1);
      common++;
    }
  }
  if (common === 0) return 0;
  const p = common / predicted.length;
  const r = common / truth.length;
  return (2 * p * r) / (p + r);
}

export const tokenF1 = defineMeanReferenceScore({
  id: 'token_f1',
  version: '1.0.0',
  feature: 'f1',
  score: tokenF1Score,
});
