/**
 * Gate rule evaluation — pure, deterministic, no I/O. The release-gate workflow's decide
 * step calls it with the evidence it gathered; an incident can call it again with
 * recomputed values to re-decide a stored decision.
 *
 *   evaluateRules(input: RuleEvaluationInput): RuleEvaluation
 *
 *   input.rules       GateRule[] — gate_versions.rules as stored (API.md rule shape)
 *   input.primaryDatasetId  the dataset a rule without `datasetId` applies to (gate.datasetIds[0])
 *   input.metricIds   { <suite metric name>: <metric id> } — gives each metric its direction
 *   input.datasets    { <datasetId>: DatasetEvidence } — per dataset: the candidate's and
 *                     baseline's current results (value, interval, n, slices, resultId), the
 *                     paired comparison (delta, its interval at 95% and at each rule's
 *                     confidence under `intervals["0.9"]`, p-value), and for must_pass the
 *                     dataset's row count
 *   → { status: 'pass' | 'fail' | 'error', reasons: RuleReason[] } — one reason per rule, in
 *     rule order: the values, the interval, the threshold and the verdict, and a message
 *     a person can act on.
 *
 * Verdicts: `pass`; `fail` (a blocking rule's bound is not met); `warn` (a non-blocking
 * rule's bound is not met, or it could not be evaluated); `error` (a blocking rule could
 * not be evaluated — missing value, a metric undefined on the slice, no comparison: fail
 * closed, naming the metric's reason).
 * Status: any blocking `error` → error; else any `fail` → fail; else pass.
 *
 * Thresholds are exact: values within THRESHOLD_TOLERANCE (1e-9) of a threshold are on it,
 * and a value on the threshold passes (0.9 - 0.88 = 0.020000000000000018 is a regression
 * of 0.02). Every metric value is a ratio or mean over at most ~10^8 examples, so a real
 * difference of one example is larger than the tolerance; floating-point noise is not.
 *
 * Rule kinds (`threshold` is in the metric's units; "regression" means worse in the
 * metric's direction — lower for accuracy, higher for log_loss):
 * - min / max: the candidate's point value >= / <= threshold.
 * - max_regression: the point regression vs the baseline <= threshold; with `relative`,
 *   regression / |baseline| <= threshold.
 * - non_inferiority, three-way on the `confidence` interval (default 0.95) of the paired
 *   delta (higher is better; mirrored for lower-is-better metrics):
 *     pass          low > -margin (non-inferiority shown);
 *     fail          high < -margin (inferiority shown);
 *     inconclusive  the interval contains -margin: the data cannot tell. A blocking rule
 *                   then fails the check (code `insufficient_evidence`, verdict `fail`, outcome
 *                   `inconclusive`) with `examplesNeeded`: about how many more
 *                   examples would decide it at the observed delta and spread
 *                   (domain/stats/examplesNeeded.ts) — "not enough evidence", not "regressed".
 * - must_pass: on a known-failures dataset every example must be right: the metric's value
 *   >= threshold (default 1) and every row of the dataset counted (no example skipped).
 */

import { examplesNeeded } from '../stats/examplesNeeded';

export type RuleKind = 'min' | 'max' | 'max_regression' | 'non_inferiority' | 'must_pass';

export interface GateRule {
  metric: string;
  kind: RuleKind;
  slice?: string;
  threshold?: number;
  relative?: boolean;
  margin?: number;
  confidence?: number;
  datasetId?: string;
  blocking?: boolean;
  name?: string;
}

export interface LayerValue {
  value: number | null;
  ciLow?: number | null;
  ciHigh?: number | null;
  n?: number;
  reason?: string;
}
export interface ResultEvidence extends LayerValue {
  resultId: string;
  slices?: Record<string, LayerValue | undefined>;
}
export interface ComparisonLayer {
  delta: number | null;
  relativeDelta?: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  pValue?: number | null;
  intervals?: Record<string, [number, number] | null>;
  reason?: string;
  n?: number;
}
export interface ComparisonEvidence extends ComparisonLayer {
  slices?: Record<string, ComparisonLayer | undefined>;
}

export interface DatasetEvidence {
  datasetName?: string;
  rowCount?: number;
  candidate?: { runId: string; results: Record<string, ResultEvidence | undefined> };
  baseline?: { runId: string; results: Record<string, ResultEvidence | undefined> };
  comparison?: Record<string, ComparisonEvidence | undefined>;
  /** Example ids wrong in the candidate (must_pass), when known; listed in the reason. */
  wrongExamples?: string[];
}

export interface RuleEvaluationInput {
  rules: GateRule[];
  primaryDatasetId: string;
  metricIds: Record<string, string>;
  datasets: Record<string, DatasetEvidence | undefined>;
}

export type RuleVerdict = 'pass' | 'fail' | 'warn' | 'error';

export interface RuleReason {
  /** `insufficient_evidence`: a non_inferiority rule the data could not decide (outcome `inconclusive`). */
  code: 'rule' | 'insufficient_evidence';
  rule: string;
  metric: string;
  slice?: string;
  kind: RuleKind;
  blocking: boolean;
  datasetId: string;
  verdict: RuleVerdict;
  candidate: number | null;
  baseline: number | null;
  delta: number | null;
  relativeDelta: number | null;
  deltaCiLow: number | null;
  deltaCiHigh: number | null;
  confidence?: number;
  pValue?: number | null;
  threshold?: number;
  margin?: number;
  relative?: boolean;
  resultIds: string[];
  message: string;
  /** non_inferiority: the three-way outcome (a blocking inconclusive rule has verdict `fail`). */
  outcome?: 'pass' | 'fail' | 'inconclusive';
  /** Inconclusive non_inferiority: estimated further examples that would decide it; null when none would. */
  examplesNeeded?: number | null;
  /** Paired examples the comparison counted (non_inferiority). */
  n?: number;
}

export interface RuleEvaluation {
  status: 'pass' | 'fail' | 'error';
  reasons: RuleReason[];
}

/** Values this close to a threshold are on it (and pass); see the header. */
export const THRESHOLD_TOLERANCE = 1e-9;

/** a <= b, with a tie (within THRESHOLD_TOLERANCE) counting as equal. */
export const atMost = (a: number, b: number): boolean => a <= b + THRESHOLD_TOLERANCE;

/** Metrics where a lower value is better; every other metric is higher-is-better. */
export const LOWER_IS_BETTER = new Set(['log_loss', 'brier', 'ece', 'mae', 'rmse']);

/** A rule's stable id, used by override requests to name the rules they cover. */
export function ruleId(rule: GateRule): string {
  return (
    rule.name ??
    `${rule.metric}${rule.slice ? `[${rule.slice}]` : ''}:${rule.kind}${rule.datasetId ? `@${rule.datasetId.slice(0, 8)}` : ''}`
  );
}

const fmt = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined ? 'n/a' : Number(v.toFixed(digits)).toString();
const signed = (v: number | null | undefined) =>
  v === null || v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${fmt(v)}`;

/** A reason a rule gave (any verdict), as opposed to a reason the check closed with (timeout, frozen, …). */
export const isRuleReason = (r: { code: string }): boolean => r.code === 'rule' || r.code === 'insufficient_evidence';

export function evaluateRules(input: RuleEvaluationInput): RuleEvaluation {
  const reasons = input.rules.map((rule) => evaluateRule(rule, input));
  const blockingErrors = reasons.some((r) => r.blocking && r.verdict === 'error');
  const failed = reasons.some((r) => r.verdict === 'fail');
  return { status: blockingErrors ? 'error' : failed ? 'fail' : 'pass', reasons };
}

function layerOf<T>(top: (T & { slices?: Record<string, T | undefined> }) | undefined, slice?: string): T | undefined {
  if (!top) return undefined;
  return slice ? top.slices?.[slice] : top;
}

function evaluateRule(rule: GateRule, input: RuleEvaluationInput): RuleReason {
  const datasetId = rule.datasetId ?? input.primaryDatasetId;
  const blocking = rule.blocking !== false;
  const evidence = input.datasets[datasetId];
  const candidateResult = evidence?.candidate?.results[rule.metric];
  const baselineResult = evidence?.baseline?.results[rule.metric];
  const candidate = layerOf(candidateResult, rule.slice);
  const baseline = layerOf(baselineResult, rule.slice);
  const comparison = layerOf(evidence?.comparison?.[rule.metric], rule.slice);
  const lowerBetter = LOWER_IS_BETTER.has(input.metricIds[rule.metric] ?? '');
  const where = `${rule.metric}${rule.slice ? ` on slice ${rule.slice}` : ''}${evidence?.datasetName ? ` (${evidence.datasetName})` : ''}`;
  const confidence = rule.kind === 'non_inferiority' ? (rule.confidence ?? 0.95) : undefined;
  const interval =
    confidence === undefined || confidence === 0.95
      ? ([comparison?.deltaCiLow ?? null, comparison?.deltaCiHigh ?? null] as const)
      : (comparison?.intervals?.[String(confidence)] ?? ([null, null] as const));

  const reason: RuleReason = {
    code: 'rule',
    rule: ruleId(rule),
    metric: rule.metric,
    ...(rule.slice ? { slice: rule.slice } : {}),
    kind: rule.kind,
    blocking,
    datasetId,
    verdict: 'pass',
    candidate: candidate?.value ?? null,
    baseline: baseline?.value ?? null,
    delta: comparison?.delta ?? null,
    relativeDelta: comparison?.relativeDelta ?? null,
    deltaCiLow: interval[0],
    deltaCiHigh: interval[1],
    ...(confidence !== undefined ? { confidence } : {}),
    ...(comparison?.pValue !== undefined ? { pValue: comparison.pValue } : {}),
    ...(rule.threshold !== undefined ? { threshold: rule.threshold } : {}),
    ...(rule.margin !== undefined ? { margin: rule.margin } : {}),
    ...(rule.relative !== undefined ? { relative: rule.relative } : {}),
    resultIds: [candidateResult?.resultId, baselineResult?.resultId].filter((id): id is string => Boolean(id)),
    message: '',
  };
  const unevaluable = (why: string): RuleReason => ({
    ...reason,
    verdict: blocking ? 'error' : 'warn',
    message: `${where}: cannot be evaluated — ${why}`,
  });
  const decide = (ok: boolean, text: string): RuleReason => ({
    ...reason,
    verdict: ok ? 'pass' : blocking ? 'fail' : 'warn',
    message: `${where}: ${text}`,
  });

  if (!evidence?.candidate) return unevaluable('the candidate has no run on this dataset');
  if (!candidateResult) return unevaluable(`the candidate's run has no current result for metric ${rule.metric}`);
  if (candidate?.value === null || candidate?.value === undefined)
    return unevaluable(
      `the candidate has no value${rule.slice ? ` for slice ${rule.slice}` : ''} (${candidate?.reason ?? 'no examples'})`,
    );
  const value = candidate.value;

  switch (rule.kind) {
    case 'min': {
      const ok = atMost(rule.threshold!, value);
      return decide(
        ok,
        `${fmt(value)} must be >= ${rule.threshold}${ok ? '' : ` — ${fmt(rule.threshold! - value)} short`}`,
      );
    }
    case 'max': {
      const ok = atMost(value, rule.threshold!);
      return decide(
        ok,
        `${fmt(value)} must be <= ${rule.threshold}${ok ? '' : ` — ${fmt(value - rule.threshold!)} over`}`,
      );
    }
    case 'must_pass': {
      const threshold = rule.threshold ?? 1;
      const counted = candidate.n ?? 0;
      const rows = evidence.rowCount;
      const wrong = evidence.wrongExamples ?? [];
      const skipped = rows !== undefined && counted < rows;
      const ok = atMost(threshold, value) && !skipped;
      const detail = ok
        ? `all ${counted} known-failure examples pass`
        : `${fmt(value)} must be >= ${threshold} with every example counted (${counted} of ${rows ?? '?'} counted)` +
          (wrong.length
            ? `; wrong: ${wrong.slice(0, 10).join(', ')}${wrong.length > 10 ? ` and ${wrong.length - 10} more` : ''}`
            : '');
      return decide(ok, detail);
    }
    case 'max_regression': {
      if (baseline?.value === null || baseline?.value === undefined)
        return unevaluable(
          `the baseline has no value${rule.slice ? ` for slice ${rule.slice}` : ''} (${baseline?.reason ?? 'no examples'})`,
        );
      // Point values of the two runs' results: what the reader sees, and what an incident recomputes.
      const delta = value - baseline.value;
      const regression = lowerBetter ? delta : -delta;
      const amount = rule.relative
        ? baseline.value === 0
          ? regression > 0
            ? Infinity
            : 0
          : regression / Math.abs(baseline.value)
        : regression;
      const ok = atMost(amount, rule.threshold!);
      const unit = rule.relative ? ` (${fmt(amount * 100, 2)}% relative)` : '';
      return decide(
        ok,
        `candidate ${fmt(value)} vs baseline ${fmt(baseline.value)}, delta ${signed(delta)}${unit}; ` +
          `may regress by at most ${rule.threshold}${rule.relative ? ' relative' : ''}${ok ? '' : ' — regressed too far'}`,
      );
    }
    case 'non_inferiority': {
      if (!comparison || comparison.delta === null)
        return unevaluable(`no paired comparison with the baseline (${comparison?.reason ?? 'no baseline'})`);
      const [low, high] = interval;
      if (low === null || high === null)
        return unevaluable(
          `the ${Math.round(confidence! * 100)}% interval of the delta is undefined (${comparison.reason ?? 'too few examples'})`,
        );
      return nonInferiority(rule, reason, { ...comparison, delta: comparison.delta }, [low, high], {
        lowerBetter,
        where,
        n: comparison.n ?? candidate.n,
      });
    }
  }
}

function nonInferiority(
  rule: GateRule,
  reason: RuleReason,
  comparison: ComparisonLayer & { delta: number },
  [low, high]: [number, number],
  { lowerBetter, where, n }: { lowerBetter: boolean; where: string; n: number | undefined },
): RuleReason {
  const margin = rule.margin!;
  const level = `${Math.round((rule.confidence ?? 0.95) * 100)}% CI [${fmt(low)}, ${fmt(high)}]`;
  const head = `${where}: delta ${signed(comparison.delta)}, ${level}`;
  // Higher is better: the bound to clear is -margin; lower is better: +margin.
  const shown = lowerBetter ? high < margin : low > -margin;
  const refuted = lowerBetter ? low > margin : high < -margin;
  const withN = n !== undefined ? { n } : {};
  if (shown)
    return {
      ...reason,
      ...withN,
      outcome: 'pass',
      message: `${head}; ${lowerBetter ? `upper bound ${fmt(high)} < ${margin}` : `lower bound ${fmt(low)} > -${margin}`}`,
    };
  const failing = reason.blocking ? ('fail' as const) : ('warn' as const);
  if (refuted)
    return {
      ...reason,
      ...withN,
      verdict: failing,
      outcome: 'fail',
      message: `${head}; inferiority shown: the whole interval is ${lowerBetter ? `above ${margin}` : `below -${margin}`}`,
    };
  const needed =
    n === undefined
      ? null
      : examplesNeeded({ n, delta: comparison.delta, ciLow: low, ciHigh: high, margin, lowerIsBetter: lowerBetter });
  const more =
    needed === null
      ? 'more examples alone are unlikely to decide it at the observed delta'
      : `about ${needed} more example${needed === 1 ? '' : 's'}`;
  return {
    ...reason,
    ...withN,
    verdict: failing,
    code: 'insufficient_evidence',
    outcome: 'inconclusive',
    examplesNeeded: needed,
    message: `${head} contains ${lowerBetter ? '' : '-'}${margin}; not enough evidence: ${more}`,
  };
}
