import {
  decideShare,
  fairShares,
  fleetEndpointKey,
  type FleetLease,
  type ShareRequest,
} from '../../../domain/fleet/share';
import { mulberry32 } from '../../../testkit/modelServer/models/text';

describe('fairShares', () => {
  it('splits evenly among equal demands, the leftover permits going round from the rotation', () => {
    expect(fairShares([8, 8, 8], 8, true, 0)).toEqual([3, 3, 2]);
    expect(fairShares([8, 8, 8], 8, true, 1)).toEqual([2, 3, 3]);
    expect(fairShares([8, 8, 8], 8, true, 2)).toEqual([3, 2, 3]);
  });

  it('gives a small demand what it asks and the rest to the others (max-min)', () => {
    expect(fairShares([1, 20, 20], 9, true)).toEqual([1, 4, 4]);
    expect(fairShares([2, 3, 50], 30, false)).toEqual([2, 3, 25]);
  });

  it('spreads what nobody asked for over the workers asking, and gives nothing to a worker asking for nothing', () => {
    expect(fairShares([0, 3], 8, true)).toEqual([0, 8]);
    expect(fairShares([2, 2, 0], 10, true)).toEqual([5, 5, 0]);
    expect(fairShares([0, 0], 8, true)).toEqual([0, 0]);
    expect(fairShares([1, 4], 10, false)).toEqual([3.5, 6.5]);
  });

  it('never hands out more than the capacity, whole or not', () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + Math.floor(random() * 6);
      const demands = Array.from({ length: n }, () => Math.floor(random() * 20));
      const capacity = Math.floor(random() * 30);
      const whole = fairShares(demands, capacity, true, trial);
      expect(whole.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(capacity);
      expect(whole.every((share) => Number.isInteger(share) && share >= 0)).toBe(true);
      const fractional = fairShares(demands, capacity, false);
      expect(fractional.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(capacity + 1e-9);
    }
  });
});

const request = (workerId: string, patch: Partial<ShareRequest> = {}): ShareRequest => ({
  workerId,
  declaredConcurrency: 8,
  declaredRps: 0,
  demandConcurrency: 8,
  demandRps: 0,
  ceiling: 0,
  ...patch,
});
const leaseFrom = (req: ShareRequest, concurrency: number, rps = 0): FleetLease => ({
  workerId: req.workerId,
  declaredConcurrency: req.declaredConcurrency,
  declaredRps: req.declaredRps,
  demandConcurrency: req.demandConcurrency,
  demandRps: req.demandRps,
  concurrency,
  rps,
});

describe('decideShare', () => {
  it('gives a worker alone the whole limit at once, whatever it asked for', () => {
    expect(decideShare([], undefined, request('a', { demandConcurrency: 1 }))).toMatchObject({
      concurrency: 8,
      usable: 8,
      target: 8,
      limit: 8,
    });
  });

  it('gives a newcomer only what is free; the holder lowers its usable share but keeps covering its requests in flight', () => {
    const a = request('a');
    const aLease = leaseFrom(a, 8);
    const b = request('b');
    // b asks while a holds everything: nothing free yet, but its fair share is 4.
    const first = decideShare([aLease], undefined, b);
    expect(first).toMatchObject({ concurrency: 0, usable: 0, target: 4 });
    const bLease = leaseFrom(b, first.concurrency);
    // a renews with its local limit still at 8: it may use 4 from now on, and keeps 8 recorded for what is in flight.
    const renewal = decideShare([bLease], aLease, { ...a, ceiling: 8 });
    expect(renewal).toMatchObject({ concurrency: 8, usable: 4, target: 4 });
    // Once its in-flight count is down to 4, the lease gives the rest back, and b takes it.
    const settled = decideShare([bLease], aLease, { ...a, ceiling: 4 });
    expect(settled).toMatchObject({ concurrency: 4, usable: 4 });
    expect(decideShare([leaseFrom(a, settled.concurrency)], bLease, b)).toMatchObject({ concurrency: 4, usable: 4 });
  });

  it('honours the strictest declaration among the live leases', () => {
    const strict = leaseFrom(request('a', { declaredConcurrency: 3, demandConcurrency: 0 }), 0);
    expect(decideShare([strict], undefined, request('b'))).toMatchObject({ limit: 3, usable: 3 });
  });

  it('keeps covering requests in flight when it regains a lapsed lease, from what is free only', () => {
    const other = leaseFrom(request('a'), 6);
    // b's lease expired (undefined) while 5 of its requests are still out: only 2 are free.
    expect(decideShare([other], undefined, request('b', { ceiling: 5 }))).toMatchObject({ concurrency: 2, usable: 2 });
  });

  it('shares a declared rate: the whole rate alone, an even split between two busy workers', () => {
    const a = request('a', { declaredRps: 50, demandRps: 50 });
    expect(decideShare([], undefined, a)).toMatchObject({ rps: 50, maxRps: 50, usable: 8 });
    const b = request('b', { declaredRps: 50, demandRps: 50 });
    // Nothing free yet: b waits for its share and holds no permits meanwhile.
    expect(decideShare([leaseFrom(a, 8, 50)], undefined, b)).toMatchObject({ rps: 0, targetRps: 25, usable: 0 });
    expect(decideShare([leaseFrom(b, 0, 0)], leaseFrom(a, 8, 50), { ...a, ceiling: 8 })).toMatchObject({
      rps: 25,
    });
    expect(decideShare([leaseFrom(a, 4, 25)], leaseFrom(b, 0), b)).toMatchObject({ rps: 25, usable: 4 });
  });

  it('keeps covering a lowered rate while requests booked at the old one are still to go out', () => {
    const a = request('a', { declaredRps: 50, demandRps: 50 });
    const aLease = leaseFrom(a, 8, 50);
    const b = leaseFrom(request('b', { declaredRps: 50, demandRps: 50 }), 0, 0);
    expect(decideShare([b], aLease, { ...a, rpsCeiling: 50 })).toMatchObject({ rps: 25, recordedRps: 50 });
    expect(decideShare([b], aLease, { ...a, rpsCeiling: 25 })).toMatchObject({ rps: 25, recordedRps: 25 });
  });

  it('gives a quiet worker the rate it uses and the busy one the rest', () => {
    const quiet = leaseFrom(request('a', { declaredRps: 100, demandRps: 10 }), 4, 10);
    const busy = request('b', { declaredRps: 100, demandRps: 100 });
    expect(decideShare([quiet], undefined, busy)).toMatchObject({ rps: 90, targetRps: 90 });
  });
});

/**
 * Workers claiming in random order, each admitting and finishing requests between sending a claim and applying
 * its answer (the round trip), some dying. After every step: the recorded grants of the live leases sum to at
 * most the limit, and no worker has more in flight than its lease covers; likewise for the declared rate, where a
 * lowered rate leaves requests booked at the old one going out for a while.
 */
describe('decideShare in a fleet', () => {
  interface SimWorker {
    id: string;
    alive: boolean;
    lease?: FleetLease;
    localLimit: number;
    inFlight: number;
    demand: number;
    /** A claim sent and not yet applied: the answer, decided at commit. */
    pending?: { usable: number; rps: number };
    localRps: number;
    /** Requests booked at an older, higher rate go out until step `until`. */
    booked: { rate: number; until: number };
  }

  const RATE = 50;
  const rateInUse = (w: SimWorker, step: number) =>
    w.alive ? Math.max(w.localRps, step < w.booked.until ? w.booked.rate : 0) : 0;

  function simulate(seed: number, limit: number, workers: number, steps: number) {
    const random = mulberry32(seed);
    const fleet: SimWorker[] = Array.from({ length: workers }, (_, i) => ({
      id: `w${i}`,
      alive: true,
      localLimit: 0,
      inFlight: 0,
      demand: 1 + Math.floor(random() * limit * 2),
      localRps: 0,
      booked: { rate: 0, until: 0 },
    }));
    const leases = () => fleet.filter((w) => w.lease).map((w) => w.lease!);
    // Steps with the whole limit granted, and with it shared by two workers or more: the invariant was tested where it bites.
    const seen = { full: 0, shared: 0, fullRate: 0 };
    for (let step = 0; step < steps; step++) {
      const w = fleet[Math.floor(random() * fleet.length)];
      const action = random();
      if (!w.alive) {
        // A dead worker's lease expires a while later; it then comes back as a new process.
        if (action < 0.05) Object.assign(w, { lease: undefined, alive: true, localLimit: 0, inFlight: 0, localRps: 0 });
      } else if (action < 0.3) {
        if (w.pending) {
          w.localLimit = w.pending.usable;
          if (w.pending.rps < w.localRps) {
            const still = step < w.booked.until ? w.booked.rate : 0;
            w.booked = { rate: Math.max(still, w.localRps), until: step + 1 + Math.floor(random() * 40) };
          }
          w.localRps = w.pending.rps;
          w.pending = undefined;
        } else {
          const req = request(w.id, {
            declaredConcurrency: limit,
            demandConcurrency: w.demand,
            ceiling: Math.max(w.inFlight, w.localLimit),
            declaredRps: RATE,
            demandRps: w.demand > 0 ? RATE : 0,
            rpsCeiling: rateInUse(w, step),
          });
          const decision = decideShare(
            leases().filter((l) => l.workerId !== w.id),
            w.lease,
            req,
            step,
          );
          w.lease = leaseFrom(req, decision.concurrency, decision.recordedRps);
          w.pending = { usable: decision.usable, rps: decision.rps };
        }
      } else if (action < 0.65) {
        if (w.inFlight < Math.min(w.localLimit, w.demand)) w.inFlight++;
      } else if (action < 0.97) {
        if (w.inFlight > 0) w.inFlight--;
      } else if (action < 0.98) {
        w.alive = false;
        w.inFlight = 0;
        w.pending = undefined;
        w.booked = { rate: 0, until: 0 };
      } else {
        w.demand = Math.floor(random() * limit * 2);
      }
      let recorded = 0;
      let recordedRps = 0;
      let holders = 0;
      for (const each of fleet) {
        const granted = each.lease?.concurrency ?? 0;
        recorded += granted;
        recordedRps += each.lease?.rps ?? 0;
        if (granted > 0) holders++;
        if (each.inFlight > granted)
          throw new Error(`step ${step}: ${each.id} has ${each.inFlight} in flight over ${granted}`);
        if (rateInUse(each, step) > (each.lease?.rps ?? 0) + 1e-9)
          throw new Error(`step ${step}: ${each.id} sends at ${rateInUse(each, step)} over ${each.lease?.rps}`);
      }
      if (recorded > limit) throw new Error(`step ${step}: grants sum to ${recorded} over ${limit}`);
      if (recordedRps > RATE + 1e-9) throw new Error(`step ${step}: rates sum to ${recordedRps} over ${RATE}`);
      if (recordedRps > RATE - 1e-6) seen.fullRate++;
      if (recorded === limit) seen.full++;
      if (holders >= 2) seen.shared++;
    }
    return seen;
  }

  it.each([
    [1, 8, 2],
    [2, 8, 3],
    [3, 2, 3],
    [4, 64, 5],
  ])('keeps the sum invariant (seed %i, limit %i, %i workers)', (seed, limit, workers) => {
    const seen = simulate(seed, limit, workers, 20_000);
    expect(seen.full).toBeGreaterThan(1000);
    expect(seen.shared).toBeGreaterThan(1000);
    expect(seen.fullRate).toBeGreaterThan(1000);
  });

  it('converges to even shares that use the whole limit when every worker wants more than it', () => {
    const leases = new Map<string, FleetLease>();
    const inFlight = new Map<string, number>();
    const ids = ['a', 'b', 'c'];
    for (let round = 0; round < 6; round++) {
      for (const id of ids) {
        const others = [...leases.values()].filter((l) => l.workerId !== id);
        const req = request(id, { declaredConcurrency: 8, demandConcurrency: 100, ceiling: inFlight.get(id) ?? 0 });
        const decision = decideShare(others, leases.get(id), req, 0);
        leases.set(id, leaseFrom(req, decision.concurrency));
        // Busy: it fills its usable share, and what it had beyond drained meanwhile.
        inFlight.set(id, decision.usable);
      }
    }
    expect(ids.map((id) => leases.get(id)!.concurrency)).toEqual([3, 3, 2]);
  });
});

describe('fleetEndpointKey', () => {
  it('names an endpoint by a hash, so no URL (nor a key in its query string) is stored', () => {
    const key = fleetEndpointKey({
      protocol: 'openai-chat',
      url: 'https://api.example.com/v1?api_key=sk-1',
      model: 'm',
    });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(fleetEndpointKey({ protocol: 'openai-chat', url: 'https://api.example.com/v1', model: 'm' })).not.toBe(key);
    expect(
      fleetEndpointKey({ protocol: 'json-predict', url: 'https://api.example.com/v1?api_key=sk-1', model: 'm' }),
    ).not.toBe(key);
  });
});
