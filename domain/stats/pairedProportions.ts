/**
 * The difference of two paired proportions — candidate accuracy minus baseline accuracy
 * over the same examples — from the discordant counts alone, with Tango's asymptotic
 * score interval (Tango 1998, Stat Med 17:891; recommended by Fagerland, Lydersen &
 * Laake 2013, Stat Med 32:2342, and BMC Med Res Methodol 14:116, 2014).
 *
 *   improved  examples right in the candidate and wrong in the baseline (n12)
 *   regressed examples wrong in the candidate and right in the baseline (n21)
 *   delta = (improved - regressed) / n
 *
 * The interval is { d : |T(d)| <= z }, where T is the score statistic with the nuisance
 * parameter at its maximum-likelihood value under delta = d:
 *
 *   T(d) = (n12 - n21 - n d) / sqrt(n (2 p21~ + d (1 - d)))
 *   p21~ = (sqrt(B^2 - 4AC) - B) / (2A),  A = 2n,  B = -n12 - n21 + (2n - n12 + n21) d,
 *          C = -n21 d (1 - d)
 *
 * T(0) is McNemar's statistic. T is strictly decreasing in d, so the bounds are found by
 * bisection to the last representable digit, and a three-way verdict against a margin
 * needs only the sign of T at the margin (no root finding): the verdict and the interval
 * always agree. No resampling: the interval is a function of three counts, so it does not
 * depend on any seed, and it stays non-degenerate when there are no discordant pairs.
 */
import { normalQuantile } from './normal';

export interface PairedCounts {
  /** Pairs where both outcomes are defined. */
  n: number;
  /** Right in the baseline, wrong in the candidate. */
  regressed: number;
  /** Wrong in the baseline, right in the candidate. */
  improved: number;
}

export function pairedDelta({ n, regressed, improved }: PairedCounts): number {
  return (improved - regressed) / n;
}

/** Tango's score statistic for H0: delta = d (positive when the observed delta is above d). */
export function tangoStatistic({ n, regressed, improved }: PairedCounts, d: number): number {
  const n12 = improved;
  const n21 = regressed;
  const numerator = n12 - n21 - n * d;
  const A = 2 * n;
  const B = -n12 - n21 + (2 * n - n12 + n21) * d;
  const C = -n21 * d * (1 - d);
  const p21 = (Math.sqrt(Math.max(0, B * B - 4 * A * C)) - B) / (2 * A);
  const variance = n * (2 * p21 + d * (1 - d));
  if (numerator === 0) return 0;
  if (!(variance > 0)) return numerator > 0 ? Infinity : -Infinity;
  return numerator / Math.sqrt(variance);
}

function checkCounts(c: PairedCounts): void {
  const ok =
    Number.isInteger(c.n) &&
    Number.isInteger(c.regressed) &&
    Number.isInteger(c.improved) &&
    c.n > 0 &&
    c.regressed >= 0 &&
    c.improved >= 0 &&
    c.regressed + c.improved <= c.n;
  if (!ok)
    throw new RangeError(`paired counts must be integers with regressed + improved <= n > 0: ${JSON.stringify(c)}`);
}

/** Two-sided `level` interval of delta (e.g. 0.95). */
export function tangoInterval(counts: PairedCounts, level: number): [number, number] {
  checkCounts(counts);
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  const z = normalQuantile(1 - (1 - level) / 2);
  const delta = pairedDelta(counts);
  // lower: the smallest d with T(d) <= z; upper: the largest d with T(d) >= -z.
  const lower = delta <= -1 ? -1 : bisect(counts, -1, delta, z);
  const upper = delta >= 1 ? 1 : bisect(counts, delta, 1, -z);
  return [lower, upper];
}

/** The d in [lo, hi] where the decreasing T crosses `target`; returns the endpoint inside the interval. */
function bisect(counts: PairedCounts, lo: number, hi: number, target: number): number {
  const lowerBound = target > 0;
  // Invariant: lowerBound ? T(lo) > target >= T(hi) : T(lo) >= target > T(hi).
  for (let i = 0; i < 200; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    const t = tangoStatistic(counts, mid);
    if (lowerBound ? t > target : t >= target) lo = mid;
    else hi = mid;
  }
  return lowerBound ? hi : lo;
}

export type ThreeWayVerdict = 'pass' | 'fail' | 'inconclusive';

/**
 * Non-inferiority of the candidate by `margin` (> 0) at two-sided `level`, decided by the
 * sign of Tango's statistic at -margin: pass when the interval lies above -margin, fail
 * when it lies below, inconclusive when it contains -margin. Same answer as comparing
 * tangoInterval's bounds with -margin.
 */
export function nonInferiorityVerdict(counts: PairedCounts, margin: number, level: number): ThreeWayVerdict {
  checkCounts(counts);
  const z = normalQuantile(1 - (1 - level) / 2);
  const t = tangoStatistic(counts, -margin);
  return t > z ? 'pass' : t < -z ? 'fail' : 'inconclusive';
}

/** Wilson's score interval for one proportion (successes of n), two-sided `level`. */
export function wilsonInterval(successes: number, n: number, level: number): [number, number] {
  if (!(n > 0) || successes < 0 || successes > n)
    throw new RangeError('wilson interval needs 0 <= successes <= n, n > 0');
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
