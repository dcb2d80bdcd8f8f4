/**
 * The rules of governed overrides, shared by the API (before it writes and signals) and
 * the gate workflow's activities (which verify again against the records):
 * - only a `fail` check takes overrides, never `error` or `frozen`;
 * - an override covers the failing rules it names (all failing rules when it names none);
 * - the requester never approves their own request, whatever roles they hold; an approver
 *   holds the approver role on the gate's owning team;
 * - a granted override lasts the gate version's override TTL.
 */
import { conflicting, invalid } from '../errors';
import type { GateVersionRecord } from '../gates/dal';
import { isRuleReason } from '../gates/evaluateRules';
import type { GateReason } from '../gates/reasons';

type RuleVerdict = Extract<GateReason, { code: 'rule' | 'insufficient_evidence' }>;

/** The rule reasons of a decision the rules made. */
export const ruleReasonsOf = (reasons: GateReason[]): RuleVerdict[] =>
  reasons.filter((r): r is RuleVerdict => isRuleReason(r));

/** The rules (ids) a decision failed: what an override may cover. */
export const failingRules = (reasons: GateReason[]): string[] =>
  ruleReasonsOf(reasons)
    .filter((r) => r.verdict === 'fail')
    .map((r) => r.rule);

/** Refuses an override request on a check that is not `fail`. */
export function assertOverridable(status: string): void {
  if (status === 'frozen')
    throw conflicting(
      'gate_frozen',
      'this check is frozen by a metric incident; an override never covers a frozen check — ' +
        'wait for the incident to resolve and check again',
    );
  if (status === 'error')
    throw conflicting(
      'not_overridable',
      'this check ended in error; an override never covers an error — fix the cause named in its reasons and check again',
    );
  if (status !== 'fail')
    throw conflicting(
      status === 'pending' ? 'not_decided' : 'not_overridable',
      `this check is ${status}; only a failed check can be overridden`,
    );
}

/** Refuses a request naming a rule that is not among the failing ones. */
export function assertRulesFailing(rules: string[], failing: string[]): void {
  for (const [i, rule] of rules.entries()) {
    if (!failing.includes(rule))
      throw invalid(
        `rules[${i}]: ${rule} is not a failing rule of this check (failing: ${failing.join(', ')})`,
        `rules[${i}]`,
      );
  }
}

/**
 * Why an approval does not count, or null when it does: the requester's own approval
 * first (whatever their roles), then an approver without the role (asked only then).
 */
export async function approvalRefusal(
  approval: { approverId: string; requestedBy: string },
  holdsApproverRole: () => boolean | Promise<boolean>,
): Promise<'self_approval' | 'not_approver' | null> {
  if (approval.approverId === approval.requestedBy) return 'self_approval';
  if (!(await holdsApproverRole())) return 'not_approver';
  return null;
}

/** How long a granted override of this gate version lasts. */
export const overrideTtlSeconds = (v: Pick<GateVersionRecord, 'override_ttl_seconds' | 'override_ttl_hours'>) =>
  v.override_ttl_seconds ?? v.override_ttl_hours * 3600;

/** Which failing rules the granted overrides cover, and whether they cover them all. */
export function coverage(failing: string[], granted: { rules: string[] | null }[]) {
  const coversAll = granted.some((o) => !o.rules || o.rules.length === 0);
  const covered = new Set(granted.flatMap((o) => o.rules ?? []));
  const isCovered = (rule: string) => coversAll || covered.has(rule);
  return { isCovered, fullyCovered: failing.length > 0 && failing.every(isCovered) };
}
