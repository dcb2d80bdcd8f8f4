/**
 * The budget of re-judging one run for a judge incident: the limits of the run's suite,
 * in an incident_budgets row of its own (the run's original budget was for the original
 * judging). It speaks the BudgetStore protocol, so the judge runner's BudgetLease bounds
 * re-judging exactly as it bounds a run.
 */
import type { Queryable } from '../../common/db';
import { BudgetLease, type BudgetStore } from '../budgets/lease';
import { giveBackIncidentBudget, hasIncidentBudget, reserveIncidentBudget } from './dal/budgets';

const usd = (value: number) => value.toFixed(9);

export function incidentBudgetStore(q: Queryable, incidentId: string): BudgetStore {
  return {
    reserve: (runId, calls, costPerCallUsd, deficitUsd) =>
      reserveIncidentBudget(q, incidentId, runId, calls, usd(costPerCallUsd), usd(deficitUsd)),
    giveBack: (runId, calls, costUsd) => giveBackIncidentBudget(q, incidentId, runId, calls, usd(costUsd)),
  };
}

/** A lease on re-judging the run, or null when its suite sets no budget. */
export async function openIncidentLease(
  q: Queryable,
  incidentId: string,
  runId: string,
  blockCalls: number,
): Promise<BudgetLease | null> {
  return (await hasIncidentBudget(q, incidentId, runId))
    ? new BudgetLease(incidentBudgetStore(q, incidentId), runId, blockCalls)
    : null;
}
