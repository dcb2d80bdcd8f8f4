/**
 * A shard's lease on its run's budget. Reserving one row update per call would cost a
 * PostgreSQL round trip per model or judge call, so a lease reserves calls in small
 * blocks (with the estimated cost of each) and hands them out locally; what it did not
 * use goes back when the shard ends or stops. It reserves the next block when half of
 * the current one is left (so calls rarely wait on PostgreSQL), so it never holds more
 * than 1.5 × B calls it has not started.
 *
 * The bound, with B = the block size and E(c) = a call's estimated cost:
 *   - calls: every call holds a permit reserved in PostgreSQL before it starts, and
 *     `run_budgets` refuses (by constraint, too) to reserve past max_calls. Calls made
 *     never exceed maxCalls, across any number of shards and workers.
 *   - cost: a call starts only when the lease's reserved cost covers what it has spent
 *     plus the estimates of its calls in flight plus E(c); an actual cost above its
 *     estimate is charged to the lease (and so to the run) when the call settles. Spent
 *     cost never exceeds maxCostUsd by more than Σ (actual − estimate) over the calls in
 *     flight when the budget ran out — the in-flight calls, and nothing else.
 *   - idle: a shard may hold up to 1.5 × B reserved calls it has not started, so a run can
 *     stop as budget_exceeded with up to 1.5 × B × (shards in flight) calls unspent. A worker that
 *     dies never returns its block: the budget shrinks by at most B per crash.
 */
export interface BudgetStore {
  /**
   * Atomically reserves up to `calls` calls at `costPerCallUsd` each, plus `deficitUsd`
   * already spent beyond what this lease had reserved. Returns the calls granted
   * (0 when the budget cannot cover one more call).
   */
  reserve(runId: string, calls: number, costPerCallUsd: number, deficitUsd: number): Promise<number>;
  /** Returns unused calls and cost (a negative cost charges an overspend). */
  giveBack(runId: string, calls: number, costUsd: number): Promise<void>;
  /** What refused the last reservation, when a store reserves from more than the run's budget (quota.ts). */
  exhaustion?(): 'quota' | 'budget';
}

export interface Permit {
  estimateUsd: number;
}

const EPSILON = 1e-9;

export class BudgetLease {
  private grantedCalls = 0;
  private grantedCost = 0;
  private usedCalls = 0;
  private spentCost = 0;
  private inFlightEstimate = 0;
  private inFlight = 0;
  private refilling: Promise<void> | undefined;
  private isExhausted = false;

  constructor(
    private readonly store: BudgetStore,
    private readonly runId: string,
    private readonly blockCalls: number,
  ) {}

  get exhausted(): boolean {
    return this.isExhausted;
  }

  /** Exhausted because the team's daily call quota is spent, not the run's budget. */
  get quotaExhausted(): boolean {
    return this.isExhausted && this.store.exhaustion?.() === 'quota';
  }

  /** A permit for one call, reserving more from PostgreSQL when the local block is spent; null when the budget is exhausted. */
  async acquire(estimateUsd: number): Promise<Permit | null> {
    for (;;) {
      if (this.fits(estimateUsd)) {
        this.usedCalls += 1;
        this.inFlight += 1;
        this.inFlightEstimate += estimateUsd;
        // Reserve the next block while half of this one is left, so calls do not wait on PostgreSQL.
        if (!this.refilling && !this.isExhausted && this.grantedCalls - this.usedCalls < this.blockCalls / 2)
          this.startRefill(estimateUsd);
        return { estimateUsd };
      }
      if (this.isExhausted) return null;
      if (!this.refilling) this.startRefill(estimateUsd);
      await this.refilling;
    }
  }

  /** Records what the call really cost (0 when it failed without usage). */
  settle(permit: Permit, actualUsd: number): void {
    this.inFlight -= 1;
    this.inFlightEstimate -= permit.estimateUsd;
    this.spentCost += actualUsd;
  }

  /** Gives back what was reserved and not used. Call with no call in flight (between parts). */
  async release(): Promise<void> {
    if (this.inFlight > 0) throw new Error('a budget lease was released with calls in flight');
    // A block still being reserved is part of what goes back.
    while (this.refilling) await this.refilling.catch(() => undefined);
    const calls = this.grantedCalls - this.usedCalls;
    const cost = this.grantedCost - this.spentCost;
    this.grantedCalls = this.usedCalls = 0;
    this.grantedCost = this.spentCost = this.inFlightEstimate = 0;
    if (calls !== 0 || Math.abs(cost) > EPSILON) await this.store.giveBack(this.runId, calls, cost);
  }

  /** Totals for logs and tests. */
  snapshot() {
    return {
      grantedCalls: this.grantedCalls,
      usedCalls: this.usedCalls,
      grantedCost: this.grantedCost,
      spentCost: this.spentCost,
      inFlight: this.inFlight,
      exhausted: this.isExhausted,
    };
  }

  private fits(estimateUsd: number): boolean {
    return (
      this.usedCalls < this.grantedCalls &&
      this.spentCost + this.inFlightEstimate + estimateUsd <= this.grantedCost + EPSILON
    );
  }

  /** One reservation at a time; a failure reaches whoever waits for it (a prefetch nobody waits for fails quietly). */
  private startRefill(estimateUsd: number): void {
    const refill = this.refill(estimateUsd).finally(() => {
      this.refilling = undefined;
    });
    refill.catch(() => undefined);
    this.refilling = refill;
  }

  private async refill(estimateUsd: number): Promise<void> {
    // Rounded up to the store's precision so the reserved cost never falls short of the estimate.
    const perCall = Math.ceil(estimateUsd * 1e9) / 1e9;
    // Float noise in the running sums is not an overspend; a real one is rounded up.
    const overshoot = this.spentCost + this.inFlightEstimate - this.grantedCost;
    const deficit = overshoot > EPSILON ? Math.ceil(overshoot * 1e9) / 1e9 : 0;
    const granted = await this.store.reserve(this.runId, this.blockCalls, perCall, deficit);
    if (granted <= 0) {
      this.isExhausted = true;
      return;
    }
    this.grantedCalls += granted;
    this.grantedCost += granted * perCall + deficit;
  }
}
