/** The run budget's BudgetStore over PostgreSQL (dal.ts); amounts go as numeric text. */
import type { Queryable } from '../../common/db';
import { giveBackRunBudget, reserveRunBudget } from './dal';
import type { BudgetStore } from './lease';

const usd = (value: number) => value.toFixed(9);

export function postgresBudgetStore(q: Queryable): BudgetStore {
  return {
    reserve: (runId, calls, costPerCallUsd, deficitUsd) =>
      reserveRunBudget(q, runId, calls, usd(costPerCallUsd), usd(deficitUsd)),
    giveBack: (runId, calls, costUsd) => giveBackRunBudget(q, runId, calls, usd(costUsd)),
  };
}
