/**
 * Text normalisation and tokenisation shared by the generation metrics.
 *
 * `normalizeAnswer` follows SQuAD v1.1's official evaluate script:
 *   lower-case -> drop ASCII punctuation (Python's string.punctuation) -> replace the
 *   articles a / an / the (whole words) by a space -> collapse whitespace.
 * Python's `\b` is Unicode-aware and JavaScript's is not, so word boundaries are written as
 * look-arounds on Unicode letters, numbers and "_" to match Python on non-ASCII text.
 *
 * `whitespaceTokens` (rouge_l, bleu): lower-case, split on whitespace; punctuation stays
 * attached to its token.
 */

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
const WHITESPACE = /\s+/u;

export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ').split(WHITESPACE).filter(Boolean).join(' ');
}

export function normalizedTokens(s: string): string[] {
  const n = normalizeAnswer(s);
  return n === '' ? [] : n.split(' ');
}

export function whitespaceTokens(s: string): string[] {
  return s.toLowerCase().split(WHITESPACE).filter(Boolean);
}

/** Length of the longest common subsequence of two token lists; O(|a| |b|) time, O(|b|) memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const ids = new Map<string, number>();
  const toIds = (tokens: readonly string[]): Int32Array =>
    Int32Array.from(tokens, (t) => {
      let id = ids.get(t);
      if (id === undefined) ids.set(t, (id = ids.size));
      return id;
    });
  const x = toIds(a);
  const y = toIds(b);
  let prev = new Int32Array(y.length + 1);
  let row = new Int32Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      row[j] = x[i - 1] === y[j - 1] ? prev[j - 1] + 1 : row[j - 1] > prev[j] ? row[j - 1] : prev[j];
    }
    [prev, row] = [row, prev];
  }
  return prev[y.length];
}

/** Multiset of n-grams of a token list, keyed by the tokens joined with U+0001. */
export function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join('\u0001');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}
