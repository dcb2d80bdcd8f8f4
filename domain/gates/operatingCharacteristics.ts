/**
 * What a gate will do before anyone ships through it: per comparative rule, the
 * probability that a check passes, fails (inferiority shown) or is inconclusive at true
 * deltas -2m, -m, -m/2, 0, +m (m: the rule's margin, or its threshold for max_regression),
 * and the examples an equal candidate needs to pass with 80% probability.
 *
 * Exact, from the gate's dataset sizes and the baseline's recorded outcomes
 * (domain/stats/operatingCharacteristics.ts). Rules on right/wrong outcomes (accuracy,
 * exact_match) only: other metrics' spread cannot be read from one run's aggregate, so
 * they answer with a reason. The discordance (share of examples the two runs disagree on)
 * is not known before a candidate exists; unless the caller states one, it is taken as
 * 2p(1 - p) for a baseline accuracy p — errors independent of the baseline's, which is
 * pessimistic (a candidate usually agrees with its predecessor more), so real power is
 * at least what is shown.
 */
import {
  examplesForPower,
  examplesForPowerOf,
  maxRegressionDecision,
  nonInferiorityDecision,
  operatingDeltas,
  operatingPoint,
  type OperatingPoint,
} from '../stats/operatingCharacteristics';
import { normalQuantile } from '../stats/normal';
import { ruleId, THRESHOLD_TOLERANCE, type GateRule } from './evaluateRules';

const BINARY_OUTCOMES = new Set(['accuracy', 'exact_match']);

/** What the gate's data say about one rule's layer: its size and the baseline's accuracy there. */
export interface RuleData {
  /** Examples the rule is decided on (the dataset's rows, or the slice's examples). */
  n: number;
  /** The baseline's value of the metric on that layer, when a baseline run exists. */
  baselineValue?: number | null;
}

export interface RuleCharacteristics {
  rule: string;
  kind: GateRule['kind'];
  n: number | null;
  discordance: number | null;
  /** How the discordance was obtained. */
  discordanceSource?: 'assumed_independent_errors' | 'stated';
  points: OperatingPoint[] | null;
  examplesFor80PercentPower: number | null;
  reason?: string;
}

export interface GateCharacteristicsInput {
  rules: GateRule[];
  /** Suite metric name -> metric id. */
  metricIds: Record<string, string>;
  /** Per rule (same order as rules): the data it would be decided on; undefined when unknown. */
  data: (RuleData | undefined)[];
  /** A discordance to assume instead of 2p(1 - p). */
  discordance?: number;
}

export function gateCharacteristics(input: GateCharacteristicsInput): RuleCharacteristics[] {
  return input.rules.map((rule, i) =>
    ruleCharacteristics(rule, input.metricIds[rule.metric], input.data[i], input.discordance),
  );
}

function ruleCharacteristics(
  rule: GateRule,
  metricId: string | undefined,
  data: RuleData | undefined,
  statedDiscordance: number | undefined,
): RuleCharacteristics {
  const base = { rule: ruleId(rule), kind: rule.kind };
  const none = (reason: string, n: number | null = data?.n ?? null): RuleCharacteristics => ({
    ...base,
    n,
    discordance: null,
    points: null,
    examplesFor80PercentPower: null,
    reason,
  });
  if (rule.kind !== 'non_inferiority' && rule.kind !== 'max_regression') return none('not_a_comparative_rule');
  if (!metricId || !BINARY_OUTCOMES.has(metricId)) return none('not_a_binary_outcome_metric');
  if (rule.kind === 'max_regression' && rule.relative) return none('relative_threshold');
  if (!data || !(data.n > 0)) return none('no_examples', data?.n ?? null);
  const p = data.baselineValue;
  let discordance: number;
  let source: RuleCharacteristics['discordanceSource'];
  if (statedDiscordance !== undefined) {
    discordance = statedDiscordance;
    source = 'stated';
  } else if (p === undefined || p === null) {
    return none('no_baseline_outcomes');
  } else {
    discordance = 2 * p * (1 - p);
    source = 'assumed_independent_errors';
  }
  const m = rule.kind === 'non_inferiority' ? rule.margin! : rule.threshold!;
  if (!(m > 0)) return none('zero_margin');
  const level = rule.confidence ?? 0.95;
  const decide =
    rule.kind === 'non_inferiority' ? nonInferiorityDecision(m, level) : maxRegressionDecision(m, THRESHOLD_TOLERANCE);
  const points = operatingDeltas(m).map((delta) => operatingPoint(data.n, discordance, delta, decide));
  const power =
    rule.kind === 'non_inferiority'
      ? examplesForPower({ discordance, margin: m, level })
      : examplesForPowerOf(
          decide,
          discordance,
          Math.max(1, Math.ceil((normalQuantile(0.8) ** 2 * Math.max(discordance, 1e-12)) / (m * m))),
        );
  return {
    ...base,
    n: data.n,
    discordance,
    discordanceSource: source,
    points,
    examplesFor80PercentPower: power,
  };
}

export interface PowerWarning {
  code: 'low_power';
  rule: string;
  pPassEqualCandidate: number;
  examplesFor80PercentPower: number | null;
  message: string;
}

/** Blocking rules that would pass an equal candidate (true delta 0) with less than 80% probability. */
export function powerWarnings(rules: GateRule[], characteristics: RuleCharacteristics[]): PowerWarning[] {
  const warnings: PowerWarning[] = [];
  characteristics.forEach((c, i) => {
    if (rules[i].blocking === false || !c.points) return;
    const equal = c.points.find((p) => p.trueDelta === 0);
    if (!equal || equal.pPass >= 0.8) return;
    warnings.push({
      code: 'low_power',
      rule: c.rule,
      pPassEqualCandidate: equal.pPass,
      examplesFor80PercentPower: c.examplesFor80PercentPower,
      message:
        `${c.rule}: a candidate exactly as good as the baseline passes only ${(equal.pPass * 100).toFixed(1)}% of checks ` +
        `on ${c.n} examples (discordance ${c.discordance!.toFixed(3)}); about ${c.examplesFor80PercentPower} examples give 80%`,
    });
  });
  return warnings;
}
