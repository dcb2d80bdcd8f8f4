/**
 * The statistics of an online experiment, pure: per guardrail, the difference in means of
 * per-unit values (treatment − control) with an always-valid confidence sequence, a
 * sample-ratio check, and the decision a check takes from them.
 *
 * The confidence sequence is the asymptotic one of Waudby-Smith, Arbour, Sinha, Kennedy and
 * Ramdas ("Time-uniform central limit theory and asymptotic confidence sequences", 2023),
 * as GrowthBook applies it to a difference in means: with N = n_c + n_t units,
 * σ̂² = N·(s_c²/n_c + s_t²/n_t) and the tuning ρ chosen so that the sequence is tightest at
 * N* units (default 5,000),
 *
 *   Δ̂ ± σ̂ · sqrt( 2(Nρ² + 1) / (N²ρ²) · ln( sqrt(Nρ² + 1) / α ) ),   ρ² = (−2 ln α + ln(−2 ln α + 1)) / N*.
 *
 * It holds at every N at once, so reading it after every event batch does not inflate the
 * error rate. docs/decisions/online-statistics.md says why this and not a mixture SPRT.
 */
import { normalCdf } from '../stats/normal';

export type Direction = 'higher_is_better' | 'lower_is_better';
export type GuardrailVerdict = 'pending' | 'pass' | 'fail';

/** One arm's aggregates: exposed units and, per guardrail, the sum and sum of squares of per-unit values. */
export interface ArmAggregate {
  units: number;
  sums: number[];
  sumsqs: number[];
}

export interface GuardrailSpec {
  name: string;
  event: string;
  direction: Direction;
  margin: number;
  alpha: number;
}

export interface GuardrailEstimate {
  name: string;
  control: number | null;
  treatment: number | null;
  delta: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  verdict: GuardrailVerdict;
}

export const DEFAULT_TUNING_UNITS = 5000;
/** Fewer units than this in an arm and no interval (nor sample-ratio test) is computed. */
export const MIN_UNITS_PER_ARM = 8;

/** Mean and unbiased variance of per-unit values from their sum and sum of squares. */
export function meanAndVariance(units: number, sum: number, sumsq: number): { mean: number; variance: number } {
  const mean = sum / units;
  const variance = units > 1 ? Math.max(0, (sumsq - (sum * sum) / units) / (units - 1)) : 0;
  return { mean, variance };
}

/** Half-width of the asymptotic confidence sequence for a mean of N units whose per-unit variance is sigma2. */
export function confidenceSequenceHalfWidth(
  sigma2: number,
  n: number,
  alpha: number,
  tuningUnits = DEFAULT_TUNING_UNITS,
): number {
  const logTerm = -2 * Math.log(alpha);
  const rho2 = (logTerm + Math.log(logTerm + 1)) / tuningUnits;
  const nr = n * rho2;
  return Math.sqrt(sigma2) * Math.sqrt(((2 * (nr + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(nr + 1) / alpha));
}

/** The difference in means treatment − control and its always-valid (two-sided, level 1 − alpha) interval. */
export function differenceInMeans(
  control: { units: number; sum: number; sumsq: number },
  treatment: { units: number; sum: number; sumsq: number },
  alpha: number,
  tuningUnits = DEFAULT_TUNING_UNITS,
): { control: number; treatment: number; delta: number; ciLow: number; ciHigh: number } | null {
  if (control.units < MIN_UNITS_PER_ARM || treatment.units < MIN_UNITS_PER_ARM) return null;
  const c = meanAndVariance(control.units, control.sum, control.sumsq);
  const t = meanAndVariance(treatment.units, treatment.sum, treatment.sumsq);
  const n = control.units + treatment.units;
  const varianceOfDelta = c.variance / control.units + t.variance / treatment.units;
  const delta = t.mean - c.mean;
  // Identical constant values in both arms: no spread, a point interval (the formula divides nothing by it).
  const half = varianceOfDelta > 0 ? confidenceSequenceHalfWidth(n * varianceOfDelta, n, alpha, tuningUnits) : 0;
  return { control: c.mean, treatment: t.mean, delta, ciLow: delta - half, ciHigh: delta + half };
}

/**
 * A guardrail's verdict from its interval: `fail` when harm beyond the margin is shown (the whole
 * interval on the harmful side of −margin), `pass` when non-inferiority is shown (the whole interval on
 * the good side of −margin), `pending` while the interval contains the margin's edge. The interval is
 * the two-sided level-α sequence, so each one-sided statement holds with error at most α.
 */
export function verdictOf(
  interval: { ciLow: number; ciHigh: number } | null,
  direction: Direction,
  margin: number,
): GuardrailVerdict {
  if (!interval) return 'pending';
  if (direction === 'higher_is_better') {
    if (interval.ciHigh < -margin) return 'fail';
    if (interval.ciLow > -margin) return 'pass';
  } else {
    if (interval.ciLow > margin) return 'fail';
    if (interval.ciHigh < margin) return 'pass';
  }
  return 'pending';
}

export function estimateGuardrails(
  guardrails: GuardrailSpec[],
  control: ArmAggregate,
  treatment: ArmAggregate,
  options: { alphaShare?: number; tuningUnits?: number } = {},
): GuardrailEstimate[] {
  return guardrails.map((g, i) => {
    const interval = differenceInMeans(
      { units: control.units, sum: control.sums[i] ?? 0, sumsq: control.sumsqs[i] ?? 0 },
      { units: treatment.units, sum: treatment.sums[i] ?? 0, sumsq: treatment.sumsqs[i] ?? 0 },
      g.alpha * (options.alphaShare ?? 1),
      options.tuningUnits,
    );
    return {
      name: g.name,
      control: interval?.control ?? null,
      treatment: interval?.treatment ?? null,
      delta: interval?.delta ?? null,
      ciLow: interval?.ciLow ?? null,
      ciHigh: interval?.ciHigh ?? null,
      verdict: verdictOf(interval, g.direction, g.margin),
    };
  });
}

/**
 * Sample-ratio check: Pearson's chi-square (1 degree of freedom) of the exposed units per arm against
 * the split the ramp asked for. `ok` is false when p < srmAlpha; with fewer than MIN_UNITS_PER_ARM units
 * in an arm the test is not run (p = 1).
 */
export function sampleRatioCheck(
  controlUnits: number,
  treatmentUnits: number,
  treatmentShare: number,
  srmAlpha: number,
): { pValue: number; ok: boolean } {
  if (
    controlUnits < MIN_UNITS_PER_ARM ||
    treatmentUnits < MIN_UNITS_PER_ARM ||
    treatmentShare <= 0 ||
    treatmentShare >= 1
  )
    return { pValue: 1, ok: true };
  const n = controlUnits + treatmentUnits;
  const expectedT = n * treatmentShare;
  const expectedC = n - expectedT;
  const chi2 = (treatmentUnits - expectedT) ** 2 / expectedT + (controlUnits - expectedC) ** 2 / expectedC;
  // For one degree of freedom, P(X > chi2) = P(|Z| > sqrt(chi2)).
  const pValue = Math.min(1, 2 * normalCdf(-Math.sqrt(chi2)));
  return { pValue, ok: pValue >= srmAlpha };
}
