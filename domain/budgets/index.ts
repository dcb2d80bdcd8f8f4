/** Hard cost budgets: see lease.ts for how reservations bound a run's spending. */
import type { Queryable } from '../../common/db';
import { BudgetLease } from './lease';
import { runIsBudgeted } from './dal';
import { postgresBudgetStore } from './store';
import { TeamQuotaStore } from './quota';
import { runQuotaTeam } from '../quotas/dal';

export { BudgetLease, type BudgetStore, type Permit } from './lease';
export { CostEstimator, costOf, type Pricing, type TokenUsage } from './estimate';
export { ensureRunBudget, runIsBudgeted } from './dal';
export { postgresBudgetStore } from './store';
export { TeamQuotaStore } from './quota';

export const DEFAULT_BUDGET_BLOCK_CALLS = 16;

/**
 * A lease on the run's budget and, when `teamCallsPerDay` is set (> 0), on the daily call quota of the team that
 * owns its model; null when neither applies (then nothing is reserved).
 */
export async function openRunLease(
  q: Queryable,
  runId: string,
  blockCalls = DEFAULT_BUDGET_BLOCK_CALLS,
  teamCallsPerDay = 0,
): Promise<BudgetLease | null> {
  const budget = (await runIsBudgeted(q, runId)) ? postgresBudgetStore(q) : null;
  const team = teamCallsPerDay > 0 ? await runQuotaTeam(q, runId) : undefined;
  if (team) return new BudgetLease(new TeamQuotaStore(q, team, teamCallsPerDay, budget), runId, blockCalls);
  return budget ? new BudgetLease(budget, runId, blockCalls) : null;
}

/** Gives back a lease's unused reservation; a failure only leaves the block reserved (the budget errs low). */
export async function releaseQuietly(lease: BudgetLease | null): Promise<void> {
  if (!lease) return;
  try {
    await lease.release();
  } catch {
    // Calls still in flight or the database unreachable: keeping the block reserved is the safe side.
  }
}
