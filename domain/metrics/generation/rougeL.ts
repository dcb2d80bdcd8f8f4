/**
 * rouge_l@1.0.0 — ROUGE-L F-measure (Lin 2004), beta = 1, per example, averaged:
 * on lower-cased whitespace tokens (text.ts), P = LCS/|output|, R = LCS/|reference|,
 * F = 2PR/(P+R), 0 when LCS = 0 or either side is empty (as Google's rouge-score package).
 * No stemming, no stopword removal. State: n and an exact fixed-point sum of F.
 */
import { defineMeanReferenceScore } from './meanScore';
import { lcsLength, whitespaceTokens } from './text';

export function rougeLScore(output: string, reference: string): number {
  const predicted = whitespaceTokens(output);
  const truth = whitespaceTokens(reference);
  const lcs = lcsLength(predicted, truth);
  if (lcs === 0) return 0;
  const p = lcs / predicted.length;
  const r = lcs / truth.length;
  return (2 * p * r) / (p + r);
}

export const rougeL = defineMeanReferenceScore({ id: 'rouge_l', version: '1.0.0', feature: 'f', score: rougeLScore });
