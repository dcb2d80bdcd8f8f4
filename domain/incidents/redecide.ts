/**
 * Re-deciding one gate check an incident touched, with the results as they are now. A pass
 * that now fails (or whose runs could not be recomputed) is revoked; a fail that now passes
 * is reported, never flipped; other statuses are recorded as not re-evaluated. The
 * incident_decisions row makes it happen once per incident and check.
 */
import type { Pool } from 'pg';
import type { Storage } from '../../common/storage';
import type { LatestDecisionRow as DecisionRow } from '../lineage/dal';
import { hasIncidentDecision, recordOutcome, type Outcome } from './dal/decisions';
import { reevaluateCheck, withPreviousValues } from './reevaluate';
import { revokeDecision } from './revoke';

/** Statuses a re-decision can act on; the rest (overridden, frozen, error, pending) are reported as they are. */
const REEVALUATED = new Set(['pass', 'fail']);

/** The outcome, or undefined when an earlier attempt already handled the check. */
export async function redecideOne(
  deps: { pool: Pool; storage: Storage },
  incidentId: string,
  kind: string,
  decision: DecisionRow,
  unrecoverable: Map<string, string | null>,
): Promise<Outcome | undefined> {
  const { pool } = deps;
  if (await hasIncidentDecision(pool, incidentId, decision.check_id)) return undefined;
  if (!REEVALUATED.has(decision.status)) {
    await recordOutcome(pool, incidentId, decision, 'not_reevaluated', { status: decision.status });
    return 'not_reevaluated';
  }
  const lost = decision.run_ids.filter((id) => unrecoverable.has(id));
  if (lost.length) {
    const reasons = lost.map((id) => ({
      code: 'run_unrecoverable',
      verdict: 'error',
      runId: id,
      message:
        `run ${id} could not be recomputed (${unrecoverable.get(id) ?? 'its stored records are unavailable'}); ` +
        'the results this decision used can no longer be trusted — check again',
    }));
    if (decision.status !== 'pass') {
      await recordOutcome(pool, incidentId, decision, 'still_failing', { reasons });
      return 'still_failing';
    }
    const summary = `results it used could not be recomputed from stored records (${lost.length} run${lost.length === 1 ? '' : 's'})`;
    return (await revokeDecision(pool, {
      incidentId,
      kind,
      decision,
      summary,
      reasons,
      newResultIds: decision.result_ids,
      detail: { reasons },
    }))
      ? 'revoked'
      : undefined;
  }
  const now = await reevaluateCheck(deps, decision.check_id);
  const reasons = withPreviousValues(now.reasons, (decision.reasons as unknown[]) ?? []);
  const changed = reasons.filter((r) => 'previous' in r && r.message.includes('[was ')).map((r) => r.message);
  const detail = { status: now.status, changed };
  if (decision.status === 'pass' && now.status !== 'pass') {
    const summary =
      now.status === 'fail'
        ? 'with the recomputed results the check no longer passes'
        : 'with the recomputed results the check can no longer be evaluated';
    return (await revokeDecision(pool, {
      incidentId,
      kind,
      decision,
      summary,
      reasons,
      newResultIds: now.resultIds,
      detail,
    }))
      ? 'revoked'
      : undefined;
  }
  const outcome: Outcome =
    decision.status === 'pass' ? 'still_passing' : now.status === 'pass' ? 'now_passing' : 'still_failing';
  await recordOutcome(pool, incidentId, decision, outcome, outcome === 'now_passing' ? { ...detail, reasons } : detail);
  return outcome;
}
