import type { CurrentResult } from '../comparison';
import type { ResultEvidence } from './evaluateRules';

/** A run's current result rows as the rule evaluator reads them (overall and per slice). */
export function resultEvidence(results: CurrentResult[]): Record<string, ResultEvidence> {
  return Object.fromEntries(
    results.map((r) => [
      r.metricName,
      {
        resultId: r.resultId,
        value: r.value,
        ciLow: r.ciLow,
        ciHigh: r.ciHigh,
        n: r.n,
        slices: Object.fromEntries(
          Object.entries(r.slices).map(([tag, s]) => [
            tag,
            { value: s.value, ciLow: s.ciLow ?? null, ciHigh: s.ciHigh ?? null, n: s.n, reason: s.reason },
          ]),
        ),
      },
    ]),
  );
}
