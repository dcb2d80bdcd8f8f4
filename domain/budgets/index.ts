/** Hard cost budgets: see lease.ts for how reservations bound a run's spending. */
import type { Queryable } from '../../common/db';
import { BudgetLease } from './lease';
import { runIsBudgeted } from './dal';
import { postgresBudgetStore } from './store';

export { BudgetLease, type BudgetStore, type Permit } from './lease';
export { CostEstimator, costOf, type Pricing, type TokenUsage } from './estimate';
export { ensureRunBudget, runIsBudgeted } from './dal';
export { postgresBudgetStore } from './store';

export const DEFAULT_BUDGET_BLOCK_CALLS = 16;

/** A lease on the run's budget, or null when its suite sets none (then nothing is reserved). */
export async function openRunLease(
  q: Queryable,
  runId: string,
  blockCalls = DEFAULT_BUDGET_BLOCK_CALLS,
): Promise<BudgetLease | null> {
  if (!(await runIsBudgeted(q, runId))) return null;
  return new BudgetLease(postgresBudgetStore(q), runId, blockCalls);
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
