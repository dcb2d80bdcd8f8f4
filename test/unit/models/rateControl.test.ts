import { RateControl } from '../../../domain/models/rateControl';
import { mulberry32 } from '../../../testkit/modelServer/models/text';
import { simulate, slidingWindow, type Provider } from './fakeEndpoint';

/**
 * The rate controller alone on a fake clock: `traffic` sends `perSecond` requests a second, evenly,
 * for `ms`, each answered 20 ms later by `answer` (ok or 429 with Retry-After: 1).
 */
function harness() {
  let now = 10_000;
  const control = new RateControl({}, now);
  let pauses = 0;
  // Requests in flight, each with the answer it will get.
  const inFlight: { at: number; kind: 'ok' | 'rate_limited' }[] = [];
  const traffic = (perSecond: number, ms: number, answer: (i: number) => 'ok' | 'rate_limited') => {
    const gap = 1000 / perSecond;
    let i = 0;
    for (const end = now + ms; now < end; now += gap) {
      while (inFlight.length && inFlight[0].at + 20 <= now) {
        const { at, kind } = inFlight.shift()!;
        if (control.reply(at, at + 20, kind, kind === 'ok' ? undefined : 1000) > 0) pauses++;
      }
      control.sent(now);
      inFlight.push({ at: now, kind: answer(i++) });
    }
  };
  return {
    control,
    traffic,
    get now() {
      return now;
    },
    get pauses() {
      return pauses;
    },
  };
}

const ok = () => 'ok' as const;

describe('RateControl', () => {
  it('does not pace a healthy endpoint', () => {
    const h = harness();
    h.traffic(2000, 5_000, ok);
    expect(h.control.rate).toBeUndefined();
    expect(h.control.decreases).toBe(0);
  });

  it('is not started by a scattering of 429s (5% whatever the load, at random)', () => {
    const h = harness();
    const random = mulberry32(3);
    h.traffic(1000, 60_000, () => (random() < 0.05 ? 'rate_limited' : 'ok'));
    expect(h.control.rate).toBeUndefined();
  });

  it('starts just under what the endpoint accepted over the last second when a round trip is refused', () => {
    const h = harness();
    h.traffic(2000, 500, ok); // 960 accepted in the last half second (40 still in flight)
    expect(h.control.refused(h.now, 20)).toBe(0);
    expect(h.control.rate).toBeCloseTo(0.9 * 960, 6);
  });

  it('does not start on a refusal within the first round trips after a silence (no rate was measured)', () => {
    const h = harness();
    h.traffic(2000, 40, ok);
    expect(h.control.refused(h.now, 20, 1000)).toBeUndefined();
    expect(h.control.rate).toBeUndefined();
  });

  it('shortens a window-long Retry-After to when the window has room again, and heeds a longer one in full', () => {
    const h = harness();
    const first = h.now;
    h.traffic(3000, 350, ok); // a burst from `first` on fills a 1,000/s window in a third of a second
    // Its oldest success leaves the window a second after it (to the meter's 50 ms).
    const pause = h.control.refused(h.now, 20, 1000)!;
    expect(h.now + pause).toBeGreaterThanOrEqual(first + 1000);
    expect(h.now + pause).toBeLessThanOrEqual(first + 1070);
    expect(pause).toBeLessThan(1000);
    const later = harness();
    later.traffic(3000, 350, ok);
    expect(later.control.refused(later.now, 20, 30_000)).toBe(30_000);
  });

  it('lowers the rate at most once a window on refused round trips (a sliding window overshot refuses for a while)', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    const rate = h.control.rate!;
    h.traffic(500, 500, ok);
    h.control.refused(h.now, 20);
    expect(h.control.rate).toBe(rate);
    expect(h.control.decreases).toBe(1);
  });

  it('grows back to the rate last accepted, flattening as it nears it, then probes past it linearly', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    const found = h.control.rate! / 0.9; // 980 accepted in the last second
    const rates: number[] = [];
    for (let s = 0; s < 4; s++) {
      // The pacer binds: the caller sends at the rate allowed.
      for (let r = 0; r < 5; r++) h.traffic(h.control.rate!, 200, ok);
      rates.push(h.control.rate! / found);
    }
    expect(rates[0]).toBeGreaterThan(0.975); // 7/8 of the way back after a second
    expect(rates[0]).toBeLessThan(1);
    expect(rates[1]).toBeGreaterThanOrEqual(0.999); // back after two
    expect(rates[1]).toBeLessThanOrEqual(1.01);
    expect(rates[3] - rates[2]).toBeGreaterThan(0.08); // then +10% a second
    expect(rates[3] - rates[2]).toBeLessThan(0.12);
  });

  it('does not grow while the caller sends less than the rate allows', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    const rate = h.control.rate;
    h.traffic(300, 5_000, ok);
    expect(h.control.rate).toBe(rate);
  });

  it('falls to 0.9× what the endpoint accepted when a round probing past it is refused more than the background', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    // Probing past 1,000/s: the provider accepts 1,000/s and refuses the rest.
    for (let r = 0; r < 40 && h.control.decreases === 1; r++) {
      const rate = h.control.rate!;
      h.traffic(rate, 200, (i) => (i < 200 ? 'ok' : 'rate_limited'));
    }
    expect(h.control.decreases).toBe(2);
    expect(h.control.rate).toBeGreaterThan(880);
    expect(h.control.rate).toBeLessThan(920);
    expect(h.pauses).toBe(0);
  });

  it('pauses the endpoint when most of a round is refused with a Retry-After a window after the rate fell', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    h.traffic(900, 800, () => 'rate_limited'); // within the window: no pause
    expect(h.pauses).toBe(0);
    h.traffic(900, 600, () => 'rate_limited');
    expect(h.pauses).toBe(1);
  });

  it('stops pacing after a long spell in which it never bound and nothing was refused', () => {
    const h = harness();
    h.traffic(1000, 1_000, ok);
    h.control.refused(h.now, 20);
    h.traffic(100, 29_000, ok);
    expect(h.control.rate).toBeDefined();
    h.traffic(100, 2_000, ok);
    expect(h.control.rate).toBeUndefined();
  });
});

describe('EndpointControl with the rate, against a sliding-window provider on a fake clock', () => {
  const share = (r: { ok: number; refused: number }) => r.refused / (r.ok + r.refused);

  it('uses ≥ 90% of a 1,000/s limit with ≤ 5% of requests refused (64 in flight would send 3,200/s)', () => {
    const r = simulate({ requests: 30_000, provider: slidingWindow(1000) });
    expect(r.ok).toBe(30_000);
    expect(r.ok / r.spanSeconds / 1000).toBeGreaterThan(0.9);
    expect(share(r)).toBeLessThan(0.05);
  });

  it('converges at other limits and round trips', () => {
    for (const [limit, latencyMs] of [
      [200, 20],
      [500, 50],
      [2000, 10],
    ]) {
      const r = simulate({ requests: 20 * limit, provider: slidingWindow(limit), latencyMs });
      expect(r.ok / r.spanSeconds / limit).toBeGreaterThan(0.88);
      expect(share(r)).toBeLessThan(0.06);
    }
  });

  it('keeps most of the limit when the provider also scatters 5% of 429s on top', () => {
    const window = slidingWindow(1000);
    const provider: Provider = (now, random) => (random() < 0.05 ? 429 : window(now, random));
    const r = simulate({ requests: 30_000, provider });
    // At most 950/s can be accepted; the 5% is refused whatever the rate.
    expect(r.ok / r.spanSeconds / 1000).toBeGreaterThan(0.8);
    expect(r.control.state().rate).toBeGreaterThan(750);
  });

  it('is not paced by a provider that only scatters 5% of 429s', () => {
    const provider: Provider = (_, random) => (random() < 0.05 ? 429 : 200);
    const r = simulate({ requests: 20_000, provider });
    expect(r.control.state()).toMatchObject({ rate: undefined, rateDecreases: 0 });
  });
});
