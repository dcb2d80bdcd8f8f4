import { BudgetLease, type BudgetStore } from '../../../domain/budgets/lease';
import { CostEstimator, costOf } from '../../../domain/budgets/estimate';

/** The same arithmetic as run_budgets' reserve statement, in memory, to test the lease's local accounting. */
function memoryStore(maxCalls: number | null, maxCost: number | null) {
  const state = { reservedCalls: 0, reservedCost: 0, reserves: 0 };
  const store: BudgetStore = {
    async reserve(_runId, calls, perCall, deficit) {
      state.reserves += 1;
      const byCalls = maxCalls === null ? calls : maxCalls - state.reservedCalls;
      const byCost =
        maxCost === null || perCall === 0
          ? calls
          : Math.floor((maxCost - state.reservedCost - deficit) / perCall + 1e-9);
      const granted = Math.max(0, Math.min(calls, byCalls, byCost));
      if (granted > 0) {
        state.reservedCalls += granted;
        state.reservedCost += granted * perCall + deficit;
      }
      return granted;
    },
    async giveBack(_runId, calls, cost) {
      state.reservedCalls -= calls;
      state.reservedCost -= cost;
    },
  };
  return { store, state };
}

describe('BudgetLease', () => {
  it('never hands out more calls than the budget, across leases, and returns what it did not use', async () => {
    const { store, state } = memoryStore(50, null);
    const leases = [
      new BudgetLease(store, 'run', 16),
      new BudgetLease(store, 'run', 16),
      new BudgetLease(store, 'run', 16),
    ];
    let granted = 0;
    for (let round = 0; round < 40; round++) {
      for (const lease of leases) {
        const permit = await lease.acquire(0);
        if (permit) {
          granted += 1;
          lease.settle(permit, 0);
        }
      }
    }
    expect(granted).toBe(50);
    expect(leases.every((l) => l.exhausted)).toBe(true);
    for (const lease of leases) await lease.release();
    expect(state.reservedCalls).toBe(50);
  });

  it('reserves in blocks, the next one ahead: one round trip per block of calls, not per call', async () => {
    const { store, state } = memoryStore(1000, null);
    const lease = new BudgetLease(store, 'run', 16);
    for (let i = 0; i < 64; i++) {
      lease.settle((await lease.acquire(0))!, 0);
      // Never more than 1.5 blocks reserved and not started.
      expect(lease.snapshot().grantedCalls - lease.snapshot().usedCalls).toBeLessThanOrEqual(24);
    }
    // Four blocks used, the fifth reserved ahead when half of the fourth was left.
    expect(state.reserves).toBe(5);
    await lease.release();
    expect(state.reservedCalls).toBe(64);
  });

  it('gives concurrent callers one refill between them', async () => {
    const { store, state } = memoryStore(1000, null);
    const lease = new BudgetLease(store, 'run', 16);
    const permits = await Promise.all(Array.from({ length: 16 }, () => lease.acquire(0)));
    expect(permits.every(Boolean)).toBe(true);
    // One reservation they all waited for, and the next block reserved ahead.
    expect(state.reserves).toBe(2);
  });

  it("stops at the cost limit and overspends by no more than the in-flight calls' excess over their estimates", async () => {
    const { store, state } = memoryStore(null, 1.0);
    const lease = new BudgetLease(store, 'run', 4);
    let spent = 0;
    // Every call is estimated at 0.1 and really costs 0.15: the lease charges the excess before it reserves more.
    for (;;) {
      const permit = await lease.acquire(0.1);
      if (!permit) break;
      lease.settle(permit, 0.15);
      spent += 0.15;
    }
    expect(spent).toBeLessThanOrEqual(1.0 + 0.05 + 1e-9);
    await lease.release();
    expect(state.reservedCost).toBeCloseTo(spent, 9);
  });

  it('refuses to release with calls in flight', async () => {
    const { store } = memoryStore(10, null);
    const lease = new BudgetLease(store, 'run', 4);
    await lease.acquire(0);
    await expect(lease.release()).rejects.toThrow(/in flight/);
  });
});

describe('call cost', () => {
  it('is per-call price plus tokens times the per-1k prices', () => {
    expect(
      costOf(
        { perCallUsd: 0.001, inputPer1kTokensUsd: 0.5, outputPer1kTokensUsd: 1.5 },
        { inputTokens: 2000, outputTokens: 100 },
      ),
    ).toBeCloseTo(0.001 + 1 + 0.15, 12);
    expect(costOf({}, { inputTokens: 5, outputTokens: 5 })).toBe(0);
  });

  it('estimates high: prompt at 3 characters a token, output at max_tokens or 1.5x the largest seen', () => {
    const estimator = new CostEstimator({ inputPer1kTokensUsd: 1, outputPer1kTokensUsd: 1 });
    expect(estimator.estimate(300)).toBeCloseTo((100 + 64) / 1000, 12);
    estimator.observe({ inputTokens: 1, outputTokens: 100 });
    expect(estimator.estimate(300)).toBeCloseTo((100 + 150) / 1000, 12);
    expect(new CostEstimator({ outputPer1kTokensUsd: 1 }, { max_tokens: 10 }).estimate(0)).toBeCloseTo(0.01, 12);
    expect(new CostEstimator({}).estimate(1e6)).toBe(0);
  });
});
