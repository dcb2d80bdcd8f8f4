/** Text primitives shared by the reference models: tokenizer, hashing, seeded randomness. */

/** Tokens longer than this are base64 blobs, URLs squashed together or similar noise. */
const MAX_TOKEN_LENGTH = 24;
const TOKEN_PATTERN = /[a-z0-9]+(?:'[a-z]+)?|[$!]/g;

/**
 * Lower-cases and splits on anything that is not a letter or digit; keeps `$` and
 * `!` as tokens of their own (strong spam cues) and drops over-long tokens.
 */
export function tokenize(text: string): string[] {
  const matches = text.toLowerCase().match(TOKEN_PATTERN);
  if (!matches) return [];
  return matches.filter((token) => token.length <= MAX_TOKEN_LENGTH);
}

/** Token counts for bag-of-words models. */
export function countTokens(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

/**
 * 32-bit FNV-1a over UTF-16 code units followed by murmur3's finaliser. Plain
 * FNV's low bits are weak (its lowest bit is just the parity of the text), and
 * callers take `% n` or mask low bits; the finaliser spreads every input bit.
 */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic uniform in [0, 1) derived from a string key. */
export function hashUniform(key: string): number {
  return mulberry32(hash32(key))();
}

/** Deterministic whitespace-free token estimate used for `usage`: ceil(chars / 4), at least 1 for non-empty text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Common English function words, ignored by the keyword generator. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers herself him ' +
    'himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other ' +
    'our ours ourselves out over own same she should so some such than that the their theirs them themselves then there ' +
    'these they this those through to too under until up very was we were what when where which while who whom why will ' +
    'with would you your yours yourself yourselves also get got one two may might must let us via per re etc'
  ).split(' '),
);
