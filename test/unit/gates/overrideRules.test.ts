/** What an override may cover: every rule the decision failed, an undecided (insufficient-evidence) one included. */
import type { GateReason } from '../../../domain/gates/reasons';
import { failingRules, ruleReasonsOf } from '../../../domain/overrides/rules';

const rule = (rule: string, code: 'rule' | 'insufficient_evidence', verdict: 'pass' | 'fail' | 'warn') =>
  ({ code, rule, verdict, message: rule }) as unknown as GateReason;

it('counts insufficient-evidence failures as failed rules, and closing reasons as no rule at all', () => {
  const reasons = [
    rule('accuracy:max_regression', 'rule', 'pass'),
    rule('accuracy:non_inferiority', 'insufficient_evidence', 'fail'),
    rule('f1:non_inferiority', 'insufficient_evidence', 'warn'),
    rule('ece:max', 'rule', 'fail'),
    { code: 'stale_baseline', verdict: 'warn', message: 'stale' } as unknown as GateReason,
  ];
  expect(failingRules(reasons)).toEqual(['accuracy:non_inferiority', 'ece:max']);
  expect(ruleReasonsOf(reasons)).toHaveLength(4);
});
