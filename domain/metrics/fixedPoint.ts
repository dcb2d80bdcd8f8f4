/**
 * Exact, order-independent summation of reals.
 *
 * Floating-point addition is not associative, so a sum of per-example losses would
 * change with shard split and order. Instead each real x is quantised once, as a pure
 * function of x, to at least 32 significant bits (|error| <= 2^-33 * |x|; values below
 * 2^-128 in magnitude count as 0), and written as three signed 16-bit "digits" on a
 * global grid of limbs: limb j has weight 2^(16 j). Digit sums per limb are integers;
 * with |digit| <= 2^16 and bootstrap weights <= 16, one add is < 2^21, so a limb sum
 * stays an exact double for more than 2^32 examples. Sums therefore merge exactly in any
 * order, and converting limbs back to a double is a pure function of those integers.
 */

export const LIMB_BITS = 16;
const LIMB = 65536;
const MIN_TOP_LIMB = -6; // top limb of values down to 2^-96; quantum 2^-128
const MAX_TOP_LIMB = 63; // 2^1008 <= |x| < 2^1024
const TWO_32 = 4294967296;
const TWO_48 = 281474976710656;

/** POW16[j + POW_OFFSET] = 2^(16 j), built by exact multiplication (no Math.pow rounding doubts). */
const POW_OFFSET = 70;
const POW16: Float64Array = (() => {
  const table = new Float64Array(POW_OFFSET + MAX_TOP_LIMB + 8); // entries past 2^1008 overflow to Infinity
  table[POW_OFFSET] = 1;
  for (let j = 1; POW_OFFSET + j < table.length; j++) table[POW_OFFSET + j] = table[POW_OFFSET + j - 1] * LIMB;
  for (let j = 1; j <= POW_OFFSET; j++) table[POW_OFFSET - j] = table[POW_OFFSET - j + 1] / LIMB;
  return table;
})();

export function limbWeight(limb: number): number {
  return POW16[limb + POW_OFFSET];
}

/**
 * Split x into signed digits at limbs base, base+1, base+2 (written to digits[0..2]) and
 * return base. Returns NaN when x quantises to 0 (nothing to add). A non-finite x is a bug
 * in the metric that emitted it and throws rather than poisoning a sum.
 */
export function splitReal(x: number, digits: Float64Array): number {
  if (!Number.isFinite(x)) throw new RangeError(`a metric emitted a non-finite real (${x})`);
  const a = x < 0 ? -x : x;
  if (a === 0) return NaN;
  let top = Math.floor(Math.log2(a) / LIMB_BITS);
  if (top < MIN_TOP_LIMB) top = MIN_TOP_LIMB;
  else if (top > MAX_TOP_LIMB) top = MAX_TOP_LIMB;
  let q = Math.round(a * POW16[POW_OFFSET - top + 2]);
  // Math.log2 may be off at limb boundaries: settle on the unique top with 2^32 <= q < 2^48.
  while (q >= TWO_48 && top < MAX_TOP_LIMB) q = Math.round(a * POW16[POW_OFFSET - ++top + 2]);
  while (q < TWO_32 && top > MIN_TOP_LIMB) q = Math.round(a * POW16[POW_OFFSET - --top + 2]);
  if (q === 0) return NaN;
  const sign = x < 0 ? -1 : 1;
  const d0 = q % LIMB;
  const r = (q - d0) / LIMB;
  const d1 = r % LIMB;
  digits[0] = sign * d0;
  digits[1] = sign * d1;
  digits[2] = sign * ((r - d1) / LIMB);
  return top - 2;
}

/**
 * The double nearest (up to one final rounding) to sum_j sums[j] * 2^(16 limbs[j]).
 * Exact integer carries first normalise digits to [0, 2^16) (the top may be negative),
 * then the limbs are added from the top down, so the result depends only on the integers.
 */
export function limbsToReal(limbs: ArrayLike<number>, sums: ArrayLike<number>): number {
  const n = limbs.length;
  if (n === 0) return 0;
  let lo = limbs[0];
  let hi = limbs[0];
  for (let i = 1; i < n; i++) {
    if (limbs[i] < lo) lo = limbs[i];
    if (limbs[i] > hi) hi = limbs[i];
  }
  const span = hi - lo + 5; // room for carries out of the top limb
  const digits = new Float64Array(span);
  for (let i = 0; i < n; i++) digits[limbs[i] - lo] += sums[i];
  for (let j = 0; j < span - 1; j++) {
    const carry = Math.floor(digits[j] / LIMB);
    digits[j] -= carry * LIMB;
    digits[j + 1] += carry;
  }
  let total = 0;
  for (let j = span - 1; j >= 0; j--) if (digits[j] !== 0) total += digits[j] * limbWeight(lo + j);
  return total;
}

/** The quantised value of x as the sums see it (for tests and documentation). */
export function quantiseReal(x: number): number {
  const digits = new Float64Array(3);
  const base = splitReal(x, digits);
  if (Number.isNaN(base)) return 0;
  return limbsToReal([base, base + 1, base + 2], digits);
}
