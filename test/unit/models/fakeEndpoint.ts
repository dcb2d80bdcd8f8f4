/**
 * The model client's admission path (activities/models/endpointLimiter.ts and client.ts) on a fake
 * clock, against a fake provider: a permit under the controller's concurrency limit, then the
 * endpoint's pause, then a slot of the adaptive rate (a RatePacer, booked again after a pause); the
 * reply `latencyMs` later; a 429 waits its Retry-After holding no permit and is sent again. A
 * discrete-event simulation: seconds of traffic in milliseconds of test, the same every run.
 */
import { EndpointControl, type EndpointControlOptions } from '../../../domain/models/endpointControl';
import { adaptivePacer, type RatePacer } from '../../../activities/models/endpointLimiter';
import { mulberry32 } from '../../../testkit/modelServer/models/text';

/** The provider's answer to a request arriving at `now`: 200, or 429 (with Retry-After: 1). */
export type Provider = (now: number, random: () => number) => 200 | 429;

/** A provider that accepts `perSecond` requests in any second (a sliding window), and refuses the rest. */
export function slidingWindow(perSecond: number): Provider {
  const accepted: number[] = [];
  let head = 0;
  return (now) => {
    while (head < accepted.length && accepted[head] <= now - 1000) head++;
    if (accepted.length - head >= perSecond) return 429;
    accepted.push(now);
    return 200;
  };
}

export interface SimulationResult {
  ok: number;
  refused: number;
  /** First to last request the provider saw, in seconds. */
  spanSeconds: number;
  control: EndpointControl;
}

export function simulate(options: {
  requests: number;
  provider: Provider;
  maxLimit?: number;
  latencyMs?: number;
  seed?: number;
  control?: Omit<EndpointControlOptions, 'maxLimit'>;
}): SimulationResult {
  const { requests, provider, maxLimit = 64, latencyMs = 20 } = options;
  const random = mulberry32(options.seed ?? 7);
  let now = 0;
  let order = 0;
  const events: { at: number; order: number; run: () => void }[] = [];
  const schedule = (at: number, run: () => void) => {
    // A binary heap by time, then by scheduling order.
    events.push({ at, order: order++, run });
    for (let i = events.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (before(events[parent], events[i])) break;
      [events[parent], events[i]] = [events[i], events[parent]];
      i = parent;
    }
  };
  const before = (a: (typeof events)[0], b: (typeof events)[0]) => a.at < b.at || (a.at === b.at && a.order < b.order);
  const next = () => {
    const top = events[0];
    const last = events.pop()!;
    if (events.length) {
      events[0] = last;
      for (let i = 0; ;) {
        let least = i;
        for (const child of [2 * i + 1, 2 * i + 2])
          if (child < events.length && before(events[child], events[least])) least = child;
        if (least === i) break;
        [events[least], events[i]] = [events[i], events[least]];
        i = least;
      }
    }
    return top;
  };

  const control = new EndpointControl({ maxLimit, ...options.control }, now);
  let pacer: RatePacer | undefined;
  let active = 0;
  const waiting: (() => void)[] = [];
  let waitingHead = 0;
  const result = { ok: 0, refused: 0, first: -1, last: 0 };

  const release = () => {
    active--;
    while (active < control.limit && waitingHead < waiting.length) {
      active++;
      waiting[waitingHead++]();
    }
  };
  const admitThen = (send: () => void) => {
    const admitted = () => {
      let paced = false;
      const gate = () => {
        const admission = control.admit(now);
        if (!admission.go) {
          paced = false;
          schedule(now + ('waitMs' in admission ? admission.waitMs : 1000), gate);
          return;
        }
        const rate = control.rate;
        if (!paced && rate !== undefined) {
          if (pacer?.ratePerSecond !== rate) pacer = adaptivePacer(rate, pacer);
          paced = true;
          const wait = pacer.reserve(now);
          if (wait > 0) return schedule(now + wait, gate);
        }
        send();
      };
      gate();
    };
    if (waitingHead === waiting.length && active < control.limit) {
      active++;
      admitted();
    } else waiting.push(admitted);
  };
  const attempt = () =>
    admitThen(() => {
      const sentAt = control.sent(now);
      if (result.first < 0) result.first = now;
      result.last = now;
      const status = provider(now, random);
      const latency = latencyMs * (0.9 + 0.2 * random());
      schedule(now + latency, () => {
        control.reply(sentAt, now, status === 200 ? 'ok' : 'rate_limited', latency, status === 429 ? 1000 : undefined);
        release();
        if (status === 200) result.ok++;
        else {
          result.refused++;
          schedule(now + 1000, attempt);
        }
      });
    });

  for (let i = 0; i < requests; i++) attempt();
  while (events.length) {
    const event = next();
    now = event.at;
    event.run();
  }
  return { ok: result.ok, refused: result.refused, spanSeconds: (result.last - result.first) / 1000, control };
}
