/**
 * An endpoint limiter under a fleet's share (the FleetShares hook of EndpointLimiters): what the process may
 * admit follows the share the fleet grants it. The fleet here is a hand-driven stand-in; the lease logic and
 * its SQL are tested in test/unit/fleet/share.test.ts and test/integration/runs/fleetLimits.test.ts.
 */
import { EndpointLimiters, type EndpointLimiter, type FleetShares } from '../../../activities/models/endpointLimiter';
import type { EndpointSpec } from '../../../domain/models/types';

const endpoint: EndpointSpec = {
  protocol: 'json-predict',
  url: 'http://models.internal/predict/nb',
  maxConcurrency: 8,
};

function handFleet() {
  const tracked: EndpointLimiter[] = [];
  const fleet: FleetShares = {
    track: (_endpoint, limiter) => {
      tracked.push(limiter);
      limiter.setFleetShare({ concurrency: 0, rps: 0 });
    },
    forget: () => undefined,
    close: async () => undefined,
  };
  return { fleet, tracked };
}

describe('EndpointLimiter under a fleet share', () => {
  it('admits nothing before its first share, asks for one, then admits up to the share', async () => {
    const { fleet, tracked } = handFleet();
    const limiter = new EndpointLimiters({}, fleet).forEndpoint(endpoint, 64);
    expect(tracked).toEqual([limiter]);
    let asked = 0;
    limiter.onStarved = () => asked++;
    const first = limiter.admit();
    expect(first).not.toBe(true);
    expect(asked).toBe(1);
    limiter.setFleetShare({ concurrency: 3, rps: 0 });
    await expect(first).resolves.toBe(true);
    expect(limiter.admit()).toBe(true);
    expect(limiter.admit()).toBe(true);
    expect(limiter.admit()).not.toBe(true);
    // Waiting with a share is not starving: the fleet renews on its own clock.
    expect(asked).toBe(1);
    expect(limiter.stats()).toMatchObject({ limit: 3, maxLimit: 8, fleetShare: 3, inFlight: 3, queued: 1 });
  });

  it('keeps the share as the limit when a reply would let the adaptive limit grow past it', () => {
    const { fleet } = handFleet();
    const limiter = new EndpointLimiters({}, fleet).forEndpoint(endpoint, 64);
    limiter.setFleetShare({ concurrency: 2, rps: 0 });
    expect(limiter.admit()).toBe(true);
    limiter.replied(limiter.sent(), 'ok');
    limiter.release();
    expect(limiter.semaphore.limit).toBe(2);
    expect(limiter.control.limit).toBe(8);
    limiter.setFleetShare({ concurrency: 8, rps: 0 });
    expect(limiter.semaphore.limit).toBe(8);
  });

  it('is limited by a stricter declaration even when its share is larger', () => {
    const { fleet } = handFleet();
    const limiters = new EndpointLimiters({}, fleet);
    const limiter = limiters.forEndpoint(endpoint, 64);
    limiter.setFleetShare({ concurrency: 8, rps: 0 });
    limiters.forEndpoint({ ...endpoint, maxConcurrency: 2 }, 64);
    expect(limiter.semaphore.limit).toBe(2);
    expect(limiter.declared()).toEqual({ concurrency: 2, rps: undefined });
  });

  it('paces at its share of the rate; a changed share starts with an empty bucket, not a fresh burst', () => {
    const { fleet } = handFleet();
    const limiter = new EndpointLimiters({}, fleet).forEndpoint({ ...endpoint, maxRps: 100 }, 64);
    const now = Date.now();
    // The whole rate: the declared pacer is kept as it is, burst included.
    limiter.setFleetShare({ concurrency: 8, rps: 100 }, now);
    expect(limiter.pacer!.ratePerSecond).toBe(100);
    expect(limiter.pacer!.reserve(now)).toBe(0);
    limiter.setFleetShare({ concurrency: 8, rps: 50 }, now);
    expect(limiter.pacer!.ratePerSecond).toBe(50);
    // The next request waits one interval of the new rate (20 ms), then they come 20 ms apart.
    expect(limiter.pacer!.reserve(now)).toBe(20);
    expect(limiter.pacer!.reserve(now)).toBe(40);
    expect(limiter.stats()).toMatchObject({ maxRps: 50, fleetShare: 8, fleetRps: 50 });
  });

  it('starts a changed share after the bookings the old pacer already made', () => {
    const { fleet } = handFleet();
    const limiter = new EndpointLimiters({}, fleet).forEndpoint({ ...endpoint, maxRps: 10 }, 64);
    const now = Date.now();
    limiter.setFleetShare({ concurrency: 8, rps: 10 }, now);
    // The burst of 10, then two callers booked 100 and 200 ms ahead.
    for (let i = 0; i < 10; i++) limiter.pacer!.reserve(now);
    expect(limiter.pacer!.reserve(now)).toBe(100);
    expect(limiter.pacer!.reserve(now)).toBe(200);
    limiter.setFleetShare({ concurrency: 8, rps: 5 }, now);
    // Past the old pacer's next free slot (300 ms), one new interval (200 ms).
    expect(limiter.pacer!.reserve(now)).toBe(500);
    // Until the old bookings have gone out, this process may still send at the old rate: its lease must cover it.
    expect(limiter.rateInUse(now)).toBe(10);
    expect(limiter.rateInUse(now + 300)).toBe(5);
  });

  it('parks its pacer while the fleet grants it no rate, and counts what it had booked', () => {
    const { fleet } = handFleet();
    const limiter = new EndpointLimiters({}, fleet).forEndpoint({ ...endpoint, maxRps: 10 }, 64);
    const now = Date.now();
    limiter.setFleetShare({ concurrency: 8, rps: 10 }, now);
    for (let i = 0; i < 11; i++) limiter.pacer!.reserve(now);
    limiter.setFleetShare({ concurrency: 0, rps: 0 }, now);
    expect(limiter.semaphore.limit).toBe(0);
    expect(limiter.rateInUse(now)).toBe(10);
    expect(limiter.rateInUse(now + 200)).toBe(0);
  });

  it('keeps the per-process behaviour without a fleet', async () => {
    const limiter = new EndpointLimiters().forEndpoint({ ...endpoint, maxRps: 10 }, 64);
    expect(limiter.semaphore.limit).toBe(8);
    await expect(Promise.resolve(limiter.admit())).resolves.toBe(true);
    const stats = limiter.stats();
    expect(stats.fleetShare).toBeUndefined();
    expect(stats.fleetRps).toBeUndefined();
  });
});
