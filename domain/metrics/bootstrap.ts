/**
 * Deterministic Poisson bootstrap weights.
 *
 * Replicate b weighs example `id` by w_b ~ Poisson(1), drawn from a PRNG stream seeded by
 * hash(seed, id) — never by processing order — so any split of a dataset into shards, in
 * any order, yields the same replicate states bit for bit. The Poisson bootstrap (Hanley &
 * MacGibbon 2006; Chamandy et al. 2012) approximates the multinomial bootstrap and is what
 * makes replicate states mergeable.
 *
 * Hash: cyrb128 (bryc) over the seed, then continued over the id; PRNG: sfc32 (Doty-Humphrey),
 * first 12 outputs discarded. Poisson(1) by inverse CDF on a 32-bit uniform with the
 * thresholds below written out as integers (no Math.exp at run time, so they cannot
 * differ across platforms). Weights are capped at 12: P(Poisson(1) >= 12) ~ 1e-9.
 */

/** POISSON1_THRESHOLDS[k] = floor(2^32 * P(Poisson(1) <= k)); the last entry is 2^32 (cap). */
export const POISSON1_THRESHOLDS: readonly number[] = [
  1580030168, 3160060337, 3950075421, 4213413783, 4279248373, 4292415291, 4294609777, 4294923276, 4294962463,
  4294966817, 4294967252, 4294967292, 4294967296,
];
const THRESHOLDS = Float64Array.from(POISSON1_THRESHOLDS);

/**
 * Fast path: the weight for each of the 4096 top-12-bit buckets of u, or 255 when a
 * threshold falls inside the bucket (then the thresholds decide). Avoids the branchy walk.
 */
const BUCKET_WEIGHT: Uint8Array = (() => {
  const table = new Uint8Array(4096);
  const weightOf = (u: number): number => {
    let k = 0;
    while (u >= THRESHOLDS[k]) k++;
    return k;
  };
  for (let i = 0; i < 4096; i++) {
    const lo = weightOf(i * 1048576);
    table[i] = lo === weightOf(i * 1048576 + 1048575) ? lo : 255;
  }
  return table;
})();

/** Hash state after absorbing the seed; reused for every example of a run. */
export type SeedState = Uint32Array;

export function seedState(seed: string): SeedState {
  return absorb(Uint32Array.of(1779033703, 3144134277, 1013904242, 2773480762), seed);
}

function absorb(state: Uint32Array, text: string): Uint32Array {
  let h1 = state[0];
  let h2 = state[1];
  let h3 = state[2];
  let h4 = state[3];
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  // Length terminates the seed so ("ab","c") and ("a","bc") differ.
  h1 = h2 ^ Math.imul(h1 ^ text.length, 597399067);
  return Uint32Array.of(h1, h2, h3, h4);
}

/**
 * Fill weights[1..] with the example's Poisson(1) replicate weights and set weights[0] = 1
 * (slot 0 is the point estimate). Returns a 32-bit hash of (seed, id) for example-set digests.
 */
export function fillPoissonWeights(seed: SeedState, id: string, weights: Float64Array): number {
  let h1 = seed[0];
  let h2 = seed[1];
  let h3 = seed[2];
  let h4 = seed[3];
  for (let i = 0; i < id.length; i++) {
    const k = id.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  // sfc32
  let a = h1 | 0;
  let b = h2 | 0;
  let c = h3 | 0;
  let d = h4 | 0;
  weights[0] = 1;
  for (let i = 1 - 12; i < weights.length; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    if (i < 1) continue;
    const u = t >>> 0;
    let k = BUCKET_WEIGHT[u >>> 20];
    if (k === 255) {
      k = 0;
      while (u >= THRESHOLDS[k]) k++;
    }
    weights[i] = k;
  }
  return h1 >>> 0;
}
