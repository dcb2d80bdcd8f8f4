/**
 * How many more examples would decide an inconclusive non-inferiority rule, assuming the
 * observed delta and the observed spread (for accuracy-like metrics: the observed
 * discordance) stay as they are.
 *
 * An interval's half-width shrinks like 1/sqrt(n). The rule is decided once the side of
 * the interval that faces the margin no longer reaches it:
 *   lower side (higher is better): (delta - low) * sqrt(n / N) < delta + margin
 *   upper side (lower is better):  (high - delta) * sqrt(n / N) < margin - delta
 * so N = n * (halfWidth / distance)^2, and examplesNeeded = ceil(N) - n. When the observed
 * delta sits on the margin (distance 0) or beyond it in the other direction no number of
 * examples decides it in the candidate's favour; then the estimate is for showing
 * inferiority (the other side), and null when even that is out of reach (distance 0).
 */
export interface ExamplesNeededInput {
  n: number;
  delta: number;
  ciLow: number;
  ciHigh: number;
  /** Positive margin in the metric's units. */
  margin: number;
  lowerIsBetter?: boolean;
}

/** Examples beyond `n` that would decide the rule at the observed delta and spread; null when none would. */
export function examplesNeeded(input: ExamplesNeededInput): number | null {
  const { n, delta, ciLow, ciHigh, margin } = input;
  // Work in "higher is better" units: d is the improvement, -margin the bound to clear.
  const d = input.lowerIsBetter ? -delta : delta;
  const low = input.lowerIsBetter ? -ciHigh : ciLow;
  const high = input.lowerIsBetter ? -ciLow : ciHigh;
  const distance = d + margin;
  if (!(n > 0) || !Number.isFinite(distance) || distance === 0) return null;
  // Above the margin: shrink the lower side until it clears; below: shrink the upper side until it is under.
  const halfWidth = distance > 0 ? d - low : high - d;
  if (!(halfWidth > 0)) return 1;
  const total = n * (halfWidth / Math.abs(distance)) ** 2;
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return null;
  // Inconclusive now, so at least one more example.
  return Math.max(1, Math.ceil(total) - n);
}
