/**
 * Operating characteristics of a comparative gate rule on a binary outcome (accuracy,
 * exact match): for a true delta, the probability that a check passes, fails, or is
 * inconclusive — computed exactly, not simulated.
 *
 * Model: n paired examples; each is discordant with probability `discordance` (psi), and
 * a discordant pair is an improvement with probability (psi + delta) / (2 psi). So the
 * discordant count D ~ Binomial(n, psi) and, given D = d, the improvements
 * K ~ Binomial(d, (psi + delta) / (2 psi)). A rule's verdict is a function of (n, K, D - K)
 * and is monotone in K for fixed d (more improvements never hurt), so for each d two
 * binary searches find the pass and fail thresholds and the probabilities are binomial
 * tails. The sum runs over d within 10 standard deviations of n psi (the rest is below
 * 1e-20). Cost: O(sqrt(n) * (log n + sqrt(n))) — milliseconds at n = 10,000.
 *
 * A true delta larger in size than the discordance is impossible (|delta| <= psi); the
 * discordance is then raised to |delta|.
 */
import { normalQuantile } from './normal';
import { tangoStatistic, type ThreeWayVerdict } from './pairedProportions';

/** How a rule decides from paired counts; monotone in `improved` for fixed improved + regressed. */
export type PairedDecision = (n: number, improved: number, regressed: number) => ThreeWayVerdict;

/** Three-way non-inferiority by Tango's score statistic at -margin (pairedProportions.ts). */
export function nonInferiorityDecision(margin: number, level: number): PairedDecision {
  const z = normalQuantile(1 - (1 - level) / 2);
  return (n, improved, regressed) => {
    const t = tangoStatistic({ n, improved, regressed }, -margin);
    return t > z ? 'pass' : t < -z ? 'fail' : 'inconclusive';
  };
}

/**
 * Point rule on the delta (max_regression): passes when the observed regression is at most
 * `threshold`, compared on counts — regressed - improved <= threshold * n, with the same
 * tolerance the rule evaluation uses (evaluateRules.ts, THRESHOLD_TOLERANCE).
 */
export function maxRegressionDecision(threshold: number, tolerance = 1e-9): PairedDecision {
  return (n, improved, regressed) => ((regressed - improved) / n <= threshold + tolerance ? 'pass' : 'fail');
}

export interface OperatingPoint {
  trueDelta: number;
  pPass: number;
  pFail: number;
  pInconclusive: number;
}

const logFactorials: number[] = [0];
function logFactorial(k: number): number {
  for (let i = logFactorials.length; i <= k; i++) logFactorials.push(logFactorials[i - 1] + Math.log(i));
  return logFactorials[k];
}

function binomialPmf(n: number, p: number, k: number): number {
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  return Math.exp(logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/** [first, last] values of Binomial(n, p) worth summing (10 sd either side of the mean). */
function support(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.max(0, Math.floor(n * p - 10 * sd - 1)), Math.min(n, Math.ceil(n * p + 10 * sd + 1))];
}

/** P(pass), P(fail), P(inconclusive) of `decide` at one true delta. */
export function operatingPoint(
  n: number,
  discordance: number,
  trueDelta: number,
  decide: PairedDecision,
): OperatingPoint {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`n must be a positive integer, got ${n}`);
  // A delta is a difference of two proportions: |delta| <= 1 and <= the discordance.
  const delta = Math.min(1, Math.max(-1, trueDelta));
  const psi = Math.min(1, Math.max(discordance, Math.abs(delta)));
  const q = psi === 0 ? 0.5 : Math.min(1, Math.max(0, (psi + delta) / (2 * psi)));
  let pPass = 0;
  let pFail = 0;
  let total = 0;
  const [dFirst, dLast] = support(n, psi);
  for (let d = dFirst; d <= dLast; d++) {
    const pd = binomialPmf(n, psi, d);
    if (pd === 0) continue;
    total += pd;
    // Smallest k that passes, largest k that fails (verdicts are monotone in k).
    const passFrom = firstK(d, (k) => decide(n, k, d - k) === 'pass');
    const failTo = firstK(d, (k) => decide(n, k, d - k) !== 'fail') - 1;
    const [kFirst, kLast] = support(d, q);
    let pass = 0;
    let fail = 0;
    for (let k = kFirst; k <= kLast; k++) {
      const pk = binomialPmf(d, q, k);
      if (k >= passFrom) pass += pk;
      if (k <= failTo) fail += pk;
    }
    pPass += pd * pass;
    pFail += pd * fail;
  }
  pPass /= total;
  pFail /= total;
  return { trueDelta, pPass, pFail, pInconclusive: Math.max(0, 1 - pPass - pFail) };
}

/** Smallest k in [0, d] with pred(k) true (pred monotone false→true), or d + 1. */
function firstK(d: number, pred: (k: number) => boolean): number {
  let lo = 0;
  let hi = d + 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The true deltas API.md asks about: -2m, -m, -m/2, 0, +m. */
export const operatingDeltas = (m: number): number[] => [-2 * m, -m, -m / 2, 0, m];

export interface NonInferiorityPlan {
  n: number;
  discordance: number;
  margin: number;
  level: number;
}

export function nonInferiorityCharacteristics(plan: NonInferiorityPlan): OperatingPoint[] {
  const decide = nonInferiorityDecision(plan.margin, plan.level);
  return operatingDeltas(plan.margin).map((delta) => operatingPoint(plan.n, plan.discordance, delta, decide));
}

/** Largest n the exact refinement of examplesFor80PercentPower evaluates (beyond: the normal approximation). */
const EXACT_POWER_LIMIT = 200_000;

/**
 * Examples for which an equal candidate (true delta 0) passes a non-inferiority rule with
 * probability >= `power` (default 0.8). Starts from the normal approximation
 *   n0 = ((z sqrt(psi - m^2) + z_power sqrt(psi)) / m)^2
 * (variance psi - m^2 under the rule's null, psi under delta 0) and refines it on the exact
 * probability (examplesForPowerOf).
 */
export function examplesForPower(plan: Omit<NonInferiorityPlan, 'n'>, power = 0.8): number {
  const { discordance: psi, margin: m, level } = plan;
  const z = normalQuantile(1 - (1 - level) / 2);
  const zPower = normalQuantile(power);
  const nullVariance = Math.max(psi - m * m, psi / 2, 1e-12);
  const n0 = Math.max(
    1,
    Math.ceil(((z * Math.sqrt(nullVariance) + zPower * Math.sqrt(Math.max(psi, 1e-12))) / m) ** 2),
  );
  return examplesForPowerOf(nonInferiorityDecision(m, level), psi, n0, power);
}

/**
 * The smallest n (near the guess n0) at which `decide` passes an equal candidate with
 * probability >= power: doubling from n0 until it does, then bisection on the exact
 * probability (nearly monotone in n; bisection finds a crossing). Beyond 200,000 examples
 * the guess is returned as it is.
 */
export function examplesForPowerOf(decide: PairedDecision, discordance: number, n0: number, power = 0.8): number {
  if (n0 > EXACT_POWER_LIMIT) return n0;
  const passes = (n: number) => operatingPoint(n, discordance, 0, decide).pPass >= power;
  let lo = Math.max(0, Math.floor(n0 / 2));
  if (lo > 0 && passes(lo)) lo = 0;
  let hi = Math.max(1, n0);
  while (!passes(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > EXACT_POWER_LIMIT) return n0;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (passes(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
