/**
 * Per-team daily quotas on model and judge calls, reserved like budgets: a shard's lease reserves a block of calls
 * from its team's row for the UTC day first, then (when the suite sets one) from the run's budget, and gives back
 * what it did not use. So, as for budgets, calls made never exceed the quota across shards and workers, and a
 * team can be left short by at most the blocks its shards hold unstarted.
 */
import type { Queryable } from '../../common/db';
import { giveBackTeamCalls, reserveTeamCalls } from '../quotas/dal';
import type { BudgetStore } from './lease';

const utcDay = () => new Date().toISOString().slice(0, 10);

export class TeamQuotaStore implements BudgetStore {
  private quotaSpent = false;
  /** Calls reserved from each day and not yet given back, so unused ones return to the day they came from. */
  private readonly heldByDay = new Map<string, number>();

  constructor(
    private readonly q: Queryable,
    readonly team: string,
    readonly callsPerDay: number,
    private readonly runBudget: BudgetStore | null,
    private readonly today: () => string = utcDay,
  ) {}

  exhaustion(): 'quota' | 'budget' {
    return this.quotaSpent ? 'quota' : 'budget';
  }

  async reserve(runId: string, calls: number, costPerCallUsd: number, deficitUsd: number): Promise<number> {
    const day = this.today();
    const granted = await reserveTeamCalls(this.q, this.team, day, calls, this.callsPerDay);
    if (granted <= 0) {
      this.quotaSpent = true;
      return 0;
    }
    let kept = granted;
    try {
      if (this.runBudget) kept = await this.runBudget.reserve(runId, granted, costPerCallUsd, deficitUsd);
    } finally {
      if (kept < granted) await giveBackTeamCalls(this.q, this.team, day, granted - kept);
    }
    this.heldByDay.set(day, (this.heldByDay.get(day) ?? 0) + kept);
    return kept;
  }

  async giveBack(runId: string, calls: number, costUsd: number): Promise<void> {
    if (this.runBudget) await this.runBudget.giveBack(runId, calls, costUsd);
    let left = calls;
    for (const [day, held] of [...this.heldByDay].reverse()) {
      const back = Math.min(held, left);
      if (back <= 0) continue;
      await giveBackTeamCalls(this.q, this.team, day, back);
      this.heldByDay.set(day, held - back);
      left -= back;
    }
  }
}
