/**
 * Judge aggregates as mergeable sums: each shard keeps one state, the run adds them up.
 *   - error rate: judge_error examples / judged examples;
 *   - noise: pooled standard deviation of the normalised score across an example's
 *     repeats, sqrt(Σ s²_i / k) over the k examples with two or more scores, where s²_i
 *     is the example's sample variance; mean spread: mean of (max − min) over them;
 *   - judge–human agreement on examples with a human score: accuracy (the judge's mean
 *     score rounded equals the human score rounded) and Cohen's kappa over those
 *     categories, κ = (p_o − p_e) / (1 − p_e) (Cohen 1960).
 */
export interface JudgeStatsState {
  judged: number;
  errors: number;
  repeatGroups: number;
  varianceSum: number;
  spreadSum: number;
  /** `${human}|${judge}` → examples. */
  confusion: Record<string, number>;
}

export const emptyJudgeStats = (): JudgeStatsState => ({
  judged: 0,
  errors: 0,
  repeatGroups: 0,
  varianceSum: 0,
  spreadSum: 0,
  confusion: {},
});

export interface JudgedExample {
  /** Normalised scores, one per repeat; empty on a judge error. */
  normalisedScores: number[];
  /** Mean raw score on the judge's scale, when every repeat parsed. */
  rawMean?: number;
  error: boolean;
  humanScore?: number;
}

export function addJudgedExample(state: JudgeStatsState, example: JudgedExample): void {
  state.judged += 1;
  if (example.error) {
    state.errors += 1;
    return;
  }
  const scores = example.normalisedScores;
  if (scores.length >= 2) {
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    state.varianceSum += scores.reduce((a, s) => a + (s - mean) ** 2, 0) / (scores.length - 1);
    state.spreadSum += Math.max(...scores) - Math.min(...scores);
    state.repeatGroups += 1;
  }
  if (example.humanScore !== undefined && example.rawMean !== undefined) {
    const key = `${Math.round(example.humanScore)}|${Math.round(example.rawMean)}`;
    state.confusion[key] = (state.confusion[key] ?? 0) + 1;
  }
}

export function mergeJudgeStats(into: JudgeStatsState, from: Partial<JudgeStatsState>): JudgeStatsState {
  into.judged += from.judged ?? 0;
  into.errors += from.errors ?? 0;
  into.repeatGroups += from.repeatGroups ?? 0;
  into.varianceSum += from.varianceSum ?? 0;
  into.spreadSum += from.spreadSum ?? 0;
  for (const [key, n] of Object.entries(from.confusion ?? {})) into.confusion[key] = (into.confusion[key] ?? 0) + n;
  return into;
}

export interface Agreement {
  n: number;
  accuracy: number | null;
  kappa: number | null;
}

/** Accuracy and Cohen's kappa from `${a}|${b}` confusion counts. Kappa is null when chance agreement is total. */
export function agreementOf(confusion: Record<string, number>): Agreement {
  const rows = new Map<string, number>();
  const cols = new Map<string, number>();
  let n = 0;
  let agree = 0;
  for (const key of Object.keys(confusion).sort()) {
    const count = confusion[key];
    const [a, b] = key.split('|');
    n += count;
    if (a === b) agree += count;
    rows.set(a, (rows.get(a) ?? 0) + count);
    cols.set(b, (cols.get(b) ?? 0) + count);
  }
  if (n === 0) return { n: 0, accuracy: null, kappa: null };
  const observed = agree / n;
  let chance = 0;
  for (const [category, count] of [...rows].sort()) chance += (count / n) * ((cols.get(category) ?? 0) / n);
  return { n, accuracy: observed, kappa: chance >= 1 ? null : (observed - chance) / (1 - chance) };
}

export interface JudgeSummary {
  judged: number;
  errors: number;
  errorRate: number | null;
  noise: number | null;
  meanSpread: number | null;
  human: Agreement;
}

export function summariseJudgeStats(state: JudgeStatsState): JudgeSummary {
  return {
    judged: state.judged,
    errors: state.errors,
    errorRate: state.judged ? state.errors / state.judged : null,
    noise: state.repeatGroups ? Math.sqrt(state.varianceSum / state.repeatGroups) : null,
    meanSpread: state.repeatGroups ? state.spreadSum / state.repeatGroups : null,
    human: agreementOf(state.confusion),
  };
}
