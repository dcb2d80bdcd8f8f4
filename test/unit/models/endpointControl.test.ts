import { EndpointControl, type ReplyKind } from '../../../domain/models/endpointControl';

/**
 * The controller against a fake endpoint on a fake clock: `round` sends `limit` requests at
 * `now`, and their replies come back `rtt` ms later, each kind chosen by `answer`.
 */
function harness(maxLimit = 64, options = {}) {
  let now = 1_000;
  const control = new EndpointControl({ maxLimit, ...options }, now);
  const round = (answer: (i: number) => ReplyKind, rtt = 20, retryAfterMs?: number) => {
    const admission = control.admit(now);
    const sent: number[] = [];
    if (admission.go) for (let i = 0; i < control.limit; i++) sent.push(control.sent(now));
    now += rtt;
    sent.forEach((at, i) => {
      const kind = answer(i);
      control.reply(at, now, kind, rtt, kind === 'rate_limited' ? retryAfterMs : undefined);
    });
    return sent.length;
  };
  return {
    control,
    round,
    advance: (ms: number) => (now += ms),
    get now() {
      return now;
    },
  };
}

const ok = (): ReplyKind => 'ok';

describe('EndpointControl: concurrency', () => {
  it('starts at the declared limit and stays there on a healthy endpoint', () => {
    const h = harness(64);
    for (let r = 0; r < 50; r++) expect(h.round(ok)).toBe(64);
    expect(h.control.state()).toMatchObject({ limit: 64, decreases: 0, pauses: 0, inFlight: 0 });
  });

  it('ignores a scattering of 429s (5% whatever the load): each request waits its own Retry-After', () => {
    const h = harness(64);
    let sent = 0;
    for (let r = 0; r < 200; r++) sent += h.round((i) => ((i + r) % 20 === 0 ? 'rate_limited' : 'ok'), 20, 1000);
    expect(h.control.state()).toMatchObject({ limit: 64, decreases: 0, pauses: 0 });
    expect(h.control.pausedUntil).toBe(0);
    expect(sent).toBe(200 * 64);
  });

  it('decreases multiplicatively once per round trip when over the tolerance, however many 429s the round had', () => {
    const h = harness(64);
    h.round((i) => (i < 20 ? 'rate_limited' : 'ok')); // 31% congested, no Retry-After: no pause
    // 64 × 0.7 = 44.8, and the round's late successes still add their 1/limit each.
    expect(h.control.limit).toBeGreaterThanOrEqual(44);
    expect(h.control.limit).toBeLessThanOrEqual(45);
    expect(h.control.state().decreases).toBe(1);
  });

  it('does not count again the 429s of requests sent before a decrease', () => {
    const h = harness(40);
    const early = Array.from({ length: 40 }, () => h.control.sent(h.now));
    h.advance(20);
    // The first 16 replies are judged as a round and lower the limit once ...
    early.slice(0, 16).forEach((at) => h.control.reply(at, h.now, 'rate_limited', 20));
    expect(h.control.state().decreases).toBe(1);
    // ... the other 24 of the same burst arrive after the decrease and change nothing.
    early.slice(16).forEach((at) => h.control.reply(at, h.now + 1, 'rate_limited', 21));
    expect(h.control.state().decreases).toBe(1);
    expect(h.control.limit).toBe(28);
  });

  it('grows back additively: one more request in flight per round trip', () => {
    const h = harness(64);
    h.round((i) => (i < 32 ? 'overloaded' : 'ok'));
    const after = h.control.limit;
    expect(after).toBeLessThanOrEqual(45);
    for (let r = 0; r < 10; r++) h.round(ok);
    expect(h.control.limit).toBeGreaterThanOrEqual(after + 9);
    expect(h.control.limit).toBeLessThanOrEqual(after + 10);
  });

  it('converges under a hard limit of 20 in flight: most of the capacity used, few refusals', () => {
    const h = harness(64);
    let accepted = 0;
    let refused = 0;
    for (let r = 0; r < 500; r++) {
      const sent = h.round((i) => (i < 20 ? 'ok' : 'rate_limited'), 20);
      accepted += Math.min(20, sent);
      refused += Math.max(0, sent - 20);
    }
    // After the first rounds the limit oscillates just around 20.
    expect(accepted / (500 * 20)).toBeGreaterThan(0.85);
    expect(refused / (accepted + refused)).toBeLessThan(0.1);
  });

  it('decreases when latency grows well past its baseline, not on jitter', () => {
    const h = harness(64);
    for (let r = 0; r < 5; r++) h.round(ok, 20);
    h.round(ok, 35);
    expect(h.control.state().decreases).toBe(0);
    h.round(ok, 200);
    expect(h.control.state().decreases).toBe(1);
  });
});

describe('EndpointControl: Retry-After pause', () => {
  it('pauses the endpoint when a round is mostly refused, for the Retry-After, from slow start', () => {
    const h = harness(64);
    h.round(() => 'rate_limited', 20, 1000);
    const pausedAt = h.now;
    expect(h.control.pausedUntil).toBe(pausedAt + 1000);
    expect(h.control.admit(h.now)).toEqual({ go: false, waitMs: 1000 });
    expect(h.control.limit).toBe(1);
    h.advance(1000);
    expect(h.control.admit(h.now)).toEqual({ go: true });
    // The round accepted nothing: no slow start, one more request per round trip.
    const limits: number[] = [];
    for (let r = 0; r < 5; r++) {
      h.round(ok);
      limits.push(h.control.limit);
    }
    expect(limits[0]).toBe(2);
    expect(limits[4]).toBeGreaterThanOrEqual(4);
    expect(limits[4]).toBeLessThanOrEqual(6);
  });

  it('after a refused round that still accepted some, slow-starts back to what it accepted', () => {
    const h = harness(64);
    // The round is judged on its first 16 replies: 6 accepted, 10 refused.
    h.round((i) => (i % 3 === 0 ? 'ok' : 'rate_limited'), 20, 1000);
    expect(h.control.state().pauses).toBe(1);
    h.advance(1000);
    const limits: number[] = [];
    for (let r = 0; r < 6; r++) {
      h.round(ok);
      limits.push(h.control.limit);
    }
    expect(limits.slice(0, 3)).toEqual([2, 4, 6]);
    expect(limits[5]).toBe(9); // then one more per round trip
  });

  it('is not extended by 429s to requests sent before it began', () => {
    const h = harness(32);
    const burst = Array.from({ length: 32 }, () => h.control.sent(h.now));
    h.advance(20);
    burst.slice(0, 16).forEach((at) => h.control.reply(at, h.now, 'rate_limited', 20, 1000));
    const until = h.control.pausedUntil;
    expect(until).toBe(h.now + 1000);
    h.advance(500);
    burst.slice(16).forEach((at) => h.control.reply(at, h.now, 'rate_limited', 520, 1000));
    expect(h.control.pausedUntil).toBe(until);
    expect(h.control.state().pauses).toBe(1);
  });
});

describe('EndpointControl: circuit breaker', () => {
  const breaker = { breakerFailures: 5, breakerAfterMs: 1000, probeMs: 2000, maxProbeMs: 8000 };

  it('does not open on a short burst of failures (a blip the retries ride out)', () => {
    const h = harness(8, breaker);
    for (let r = 0; r < 3; r++) h.round(() => 'failed', 100);
    expect(h.control.circuit).toBe('closed');
  });

  it('opens after failures in a row lasting long enough, refuses at once, probes and closes on success', () => {
    const h = harness(8, breaker);
    for (let r = 0; r < 12; r++) h.round(() => 'failed', 100);
    expect(h.control.circuit).toBe('open');
    expect(h.control.admit(h.now)).toEqual({ go: false, open: true });
    expect(h.control.circuitRefuses(h.now)).toBe(true);
    h.advance(2000);
    // One probe, nobody else.
    expect(h.control.admit(h.now)).toEqual({ go: true });
    expect(h.control.admit(h.now)).toEqual({ go: false, open: true });
    const probe = h.control.sent(h.now);
    h.control.reply(probe, h.now + 20, 'failed', 20);
    expect(h.control.circuit).toBe('open');
    // Twice as long before the next probe.
    h.advance(2000);
    expect(h.control.admit(h.now)).toEqual({ go: false, open: true });
    h.advance(2100);
    expect(h.control.admit(h.now)).toEqual({ go: true });
    h.control.reply(h.control.sent(h.now), h.now + 20, 'ok', 20);
    expect(h.control.circuit).toBe('closed');
    expect(h.control.admit(h.now)).toEqual({ go: true });
  });

  it('counts 429s as an endpoint that is up', () => {
    const h = harness(8, breaker);
    for (let r = 0; r < 12; r++) h.round((i) => (i === 0 ? 'rate_limited' : 'failed'), 100);
    expect(h.control.circuit).toBe('closed');
  });
});
