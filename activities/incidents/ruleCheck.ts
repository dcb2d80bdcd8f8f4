/**
 * Re-evaluating a stored gate decision after some of the results it used were replaced.
 * Pure: given the gate's rules, the results the decision used (with replacements
 * applied) and which runs were the candidate's, it says how each rule fares now.
 *
 * Threshold rules (min, max) are re-evaluated from the recomputed value. Comparison
 * rules (max_regression, non_inferiority, must_pass) need the candidate-vs-baseline
 * statistics; when a result such a rule depends on changed, the rule cannot be
 * re-evaluated from stored aggregates and counts as `unverifiable` — which revokes a
 * pass (fail closed) with a reason telling the owner to run a new check.
 */

export interface StoredRule {
  metric: string; kind: string; slice?: string; threshold?: number; relative?: boolean; margin?: number; datasetId?: string; blocking?: boolean;
}

export interface DecisionResult {
  resultId: string; runId: string; metricName: string; value: number | null; slices: Record<string, { value: number | null } | undefined>;
  candidate: boolean; datasetId: string;
  /** Set when this result replaced the one the decision used. */
  replaced?: { oldResultId: string; oldValue: number | null; oldSlices: Record<string, { value: number | null } | undefined> };
}

export type RuleVerdict =
  | { rule: StoredRule; outcome: 'pass' | 'fail'; oldValue: number | null; newValue: number | null; reason: string; changed: boolean }
  | { rule: StoredRule; outcome: 'unverifiable' | 'unaffected'; reason: string; changed: boolean };

const valueOf = (r: { value: number | null; slices: DecisionResult['slices'] }, slice?: string) => (slice ? r.slices?.[slice]?.value ?? null : r.value);
const fmt = (v: number | null) => (v === null ? 'no value' : Number(v.toFixed(6)).toString());

function thresholdVerdict(rule: StoredRule, result: DecisionResult): RuleVerdict {
  const at = `${rule.metric}${rule.slice ? ` [${rule.slice}]` : ''}`;
  const newValue = valueOf(result, rule.slice);
  const oldValue = result.replaced ? valueOf({ value: result.replaced.oldValue, slices: result.replaced.oldSlices }, rule.slice) : newValue;
  const threshold = rule.threshold ?? NaN;
  const ok = newValue !== null && (rule.kind === 'min' ? newValue >= threshold : newValue <= threshold);
  const bound = rule.kind === 'min' ? `>= ${threshold}` : `<= ${threshold}`;
  const changedText = result.replaced ? `was ${fmt(oldValue)}, recomputed ${fmt(newValue)}` : `${fmt(newValue)}`;
  return {
    rule, outcome: ok ? 'pass' : 'fail', oldValue, newValue, changed: Boolean(result.replaced),
    reason: `${at} must be ${bound}: ${changedText}${ok ? '' : ' — fails'}`,
  };
}

/** How each rule of the gate fares with the replaced results. */
export function reevaluateRules(rules: StoredRule[], results: DecisionResult[]): RuleVerdict[] {
  return rules.map((rule): RuleVerdict => {
    const relevant = results.filter((r) => r.metricName === rule.metric && (!rule.datasetId || r.datasetId === rule.datasetId));
    const changed = relevant.some((r) => r.replaced);
    if (rule.kind === 'min' || rule.kind === 'max') {
      const candidate = relevant.filter((r) => r.candidate);
      if (!candidate.length) return { rule, outcome: changed ? 'unverifiable' : 'unaffected', changed, reason: `${rule.metric}: the decision recorded no candidate result for this rule` };
      const verdicts = candidate.map((r) => thresholdVerdict(rule, r));
      return verdicts.find((v) => v.outcome === 'fail') ?? verdicts.find((v) => v.changed) ?? verdicts[0];
    }
    if (!changed) return { rule, outcome: 'unaffected', changed, reason: `${rule.metric} (${rule.kind}): none of its results changed` };
    return {
      rule, outcome: 'unverifiable', changed,
      reason: `${rule.metric} (${rule.kind}): results it compared were recomputed; this comparison cannot be re-evaluated from stored aggregates — run a new check`,
    };
  });
}

export type Redecision = { status: 'pass' | 'fail' | 'unverifiable'; reasons: string[]; verdicts: RuleVerdict[] };

/** The decision's status now: any blocking rule failing fails it; any unverifiable one makes it unverifiable. */
export function redecide(rules: StoredRule[], results: DecisionResult[]): Redecision {
  const verdicts = reevaluateRules(rules, results);
  const blocking = verdicts.filter((v) => v.rule.blocking !== false);
  const failed = blocking.filter((v) => v.outcome === 'fail');
  const unverifiable = blocking.filter((v) => v.outcome === 'unverifiable');
  const status = failed.length ? 'fail' : unverifiable.length ? 'unverifiable' : 'pass';
  const reasons = [...failed, ...unverifiable, ...blocking.filter((v) => v.changed && v.outcome === 'pass')].map((v) => v.reason);
  return { status, reasons, verdicts };
}
