/**
 * Adaptive request rate of one model endpoint, beside its adaptive concurrency
 * (endpointControl.ts): for providers that limit requests per second (a sliding or fixed window,
 * a token bucket), where the number in flight is a poor handle — at 20 ms a request, one more in
 * flight is 50 more requests a second. Pure and deterministic: every input carries its time.
 *
 * Replies are judged in rounds of at least `roundMs` and `roundMinReplies` replies to requests sent
 * since the round began (replies to requests sent before a decision never count again). A round
 * whose 429 share exceeds its background — the median share of recent rounds that cannot have been
 * over a limit (see `judge`), so a provider that 429s a few percent of requests whatever the load
 * does not drive the rate down — by `tolerance` and by three standard deviations is congested.
 *
 * Off (no pacing) until the endpoint is found rate-limited: a round trip mostly refused with a
 * Retry-After (EndpointControl calls `refused`; not within the first round trips after a silence,
 * which measured no rate), or a round congested by five standard deviations once the background
 * is known. Then:
 *  - the rate starts at `decrease`× what the endpoint accepted over the last `windowMs` (successes
 *    by reply time — the provider's own measure, whatever the round trip), and a window-long
 *    Retry-After pauses the endpoint only until that window has room again;
 *  - it grows while the pacer is what binds (the caller sent nearly all it allowed): back to the
 *    rate last accepted in `recoverMs`, along a cubic that flattens as it nears it (CUBIC's shape,
 *    RFC 9438), then linearly past it by `probe` of it per second. A congested round while probing
 *    past it lowers it to `decrease`× what was accepted (over the round, or the window when more).
 *    A sliding window remembers a second of overshoot, so the probe is slow, and the rate spends
 *    its time just under a hard limit;
 *  - a round mostly refused with a Retry-After a window after the rate fell, not probing (the lower
 *    rate did not help: the provider means it), pauses the endpoint for it (`reply` says how long);
 *  - after `releaseMs` in which the pacer never bound and nothing was refused, pacing stops.
 */

export interface RateControlOptions {
  /** Span over which the accepted rate is measured (a per-second quota's window), and a fall's aftermath. */
  windowMs?: number;
  /** A round lasts at least this long... */
  roundMs?: number;
  /** ...and until this many replies to requests sent during it came back. */
  roundMinReplies?: number;
  /** The rate after a congested round, as a fraction of what the endpoint accepted. */
  decrease?: number;
  /** 429 share over the background that makes a round congested (at least; three standard deviations). */
  tolerance?: number;
  /** Time the pacer binds to grow back to the rate last accepted (a cubic, flattening as it nears it)... */
  recoverMs?: number;
  /** ...and past it, linear, by this fraction of it per second. */
  probe?: number;
  minRate?: number;
  releaseMs?: number;
  /** Share of a round refused with a Retry-After, not probing, a window after the rate fell, that pauses the endpoint. */
  stopShare?: number;
}

export type RateReplyKind = 'ok' | 'rate_limited' | 'other';

/** Rounds whose 429 share forms the background. */
const BACKGROUND_ROUNDS = 8;
/** Sends over this fraction of what the rate allowed: the pacer was binding. */
const BINDING = 0.9;
/** Meter buckets per window. */
const BUCKETS = 20;

/** Successes per bucket of time, over the last window. */
class Meter {
  /** A window's buckets and the one it began in (counted for the part still in the window). */
  private readonly counts = new Float64Array(BUCKETS + 1);
  private readonly slots = new Float64Array(BUCKETS + 1).fill(-1);

  constructor(private readonly bucketMs: number) {}

  add(now: number): void {
    const slot = Math.floor(now / this.bucketMs);
    const i = slot % (BUCKETS + 1);
    if (this.slots[i] !== slot) {
      this.slots[i] = slot;
      this.counts[i] = 0;
    }
    this.counts[i]++;
  }

  /** When the oldest success in the last window leaves it (`now` if there is none). */
  emptyFrom(now: number): number {
    const current = Math.floor(now / this.bucketMs);
    let oldest = Infinity;
    for (let i = 0; i <= BUCKETS; i++)
      if (this.counts[i] > 0 && current - this.slots[i] <= BUCKETS) oldest = Math.min(oldest, this.slots[i]);
    return oldest === Infinity ? now : (oldest + 1 + BUCKETS) * this.bucketMs;
  }

  /** Successes in the last window. */
  sum(now: number): number {
    const current = Math.floor(now / this.bucketMs);
    const elapsed = now / this.bucketMs - current;
    let total = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      const age = current - this.slots[i];
      if (age < BUCKETS) total += this.counts[i];
      else if (age === BUCKETS) total += this.counts[i] * (1 - elapsed);
    }
    return total;
  }
}

interface Round {
  start: number;
  /** First send of the round (a round that began paused counts from here). */
  firstSent: number | undefined;
  sent: number;
  ok: number;
  fresh: number;
  refused: number;
  /** The longest Retry-After among them. */
  retryAfterMs: number;
}

export class RateControl {
  private readonly o: Required<RateControlOptions>;
  private readonly meter: Meter;
  private rateValue: number | undefined;
  /** What the endpoint accepted when the rate last fell (CUBIC's W_max), when, and the pacer's binding time since. */
  private found = 0;
  private decreasedAt = -Infinity;
  private grownMs = 0;
  private idleMs = 0;
  private round: Round;
  /** 429 shares of the last rounds that could only be background (see `judge`). */
  private shares: number[] = [];
  private decreaseCount = 0;
  /** Sending since (after a window's silence), and last sent. */
  private activeSince = -Infinity;
  private lastSent = -Infinity;

  constructor(options: RateControlOptions, now: number) {
    this.o = {
      windowMs: 1_000,
      roundMs: 200,
      roundMinReplies: 20,
      decrease: 0.9,
      tolerance: 0.02,
      recoverMs: 2_000,
      probe: 0.1,
      minRate: 1,
      releaseMs: 30_000,
      stopShare: 0.5,
      ...options,
    };
    this.meter = new Meter(this.o.windowMs / BUCKETS);
    this.round = this.newRound(now);
  }

  /** Requests per second to pace at; undefined: not paced. */
  get rate(): number | undefined {
    return this.rateValue;
  }

  get decreases(): number {
    return this.decreaseCount;
  }

  sent(now: number): void {
    if (now - this.lastSent > this.o.windowMs) this.activeSince = now;
    this.lastSent = now;
    const round = this.round;
    round.sent++;
    if (round.firstSent === undefined) round.firstSent = now;
  }

  /**
   * The reply to a request sent at `sentAt`. Gives how long the endpoint should pause now (ms; 0: not at
   * all): while paced, when most of a round is refused with a Retry-After a window after the rate fell.
   */
  reply(sentAt: number, now: number, kind: RateReplyKind, retryAfterMs?: number): number {
    if (kind === 'other') return 0;
    if (kind === 'ok') this.meter.add(now);
    const round = this.round;
    if (sentAt < round.start) return 0;
    round.fresh++;
    if (kind === 'ok') round.ok++;
    else {
      round.refused++;
      if (retryAfterMs !== undefined) round.retryAfterMs = Math.max(round.retryAfterMs, retryAfterMs);
    }
    if (now - round.start >= this.o.roundMs && round.fresh >= this.o.roundMinReplies) return this.judge(now);
    return 0;
  }

  /**
   * The endpoint refused most of a round trip, with a Retry-After of `retryAfterMs` (0: none): pace just
   * under what it accepted over the last window (lowered at most once a window). Gives how long the
   * endpoint should pause: a Retry-After about a window long is the window saying it is full, and it
   * has room again once its oldest success leaves it (the refused requests still wait theirs, and the
   * pacer spreads what follows); a longer one is heeded in full. Undefined, not pacing, when it refused
   * within its first few round trips (`roundTripMs` each): that measured no rate (a cap on requests in
   * flight, or a quota others spent; the concurrency's slow start probes either).
   */
  refused(now: number, roundTripMs: number, retryAfterMs = 0): number | undefined {
    if (this.rateValue === undefined && now - this.activeSince < 3 * roundTripMs) return undefined;
    const pauseMs =
      retryAfterMs > 2 * this.o.windowMs
        ? retryAfterMs
        : Math.max(0, Math.min(retryAfterMs, this.meter.emptyFrom(now) - now));
    if (this.rateValue === undefined || now - this.decreasedAt >= this.o.windowMs) {
      this.decreaseTo(now, Math.min(this.rateValue ?? Infinity, this.accepted(now)));
      // Judged on what is sent once the pause ends, not on what slipped out as it began.
      this.round = this.newRound(now + pauseMs);
    }
    return pauseMs;
  }

  /**
   * The background is learnt from rounds that cannot be over a limit: unpaced ones (before any limit was
   * found; a storm among them is followed by pacing at once), and paced ones back under the rate last
   * accepted, a window after it fell (a sliding window overshot still refuses for that long). Never from
   * rounds probing past it, so a share that creeps up with the rate is not learnt as background.
   */
  private judge(now: number): number {
    const round = this.round;
    const rate = this.rateValue;
    const from = round.firstSent ?? round.start;
    const seconds = Math.max(1, now - from) / 1000;
    const share = round.refused / round.fresh;
    const background = median(this.shares);
    // Over what the background explains by the tolerance, and by `z` standard deviations and one more.
    const expected = background * round.fresh;
    // (The background is itself an estimate: the spread is taken at the tolerance at least.)
    const sd = Math.sqrt(round.fresh * Math.max(background, this.o.tolerance) * (1 - background));
    const over = (z: number) => round.refused > expected + Math.max(this.o.tolerance * round.fresh, z * sd + 1);
    const congested = over(3);
    const settled = now - this.decreasedAt >= this.o.windowMs;
    // What the endpoint accepted: over the round, or over the window when that says more (a sliding window
    // full of an earlier burst accepts in its pattern, not at its rate).
    const accepted = Math.max(round.ok / seconds, this.accepted(now));
    if (rate === undefined) {
      this.learn(share);
      // Once the background is known, a round congested by five standard deviations (one in millions for a
      // scattering) starts pacing.
      if (over(5) && this.shares.length > BACKGROUND_ROUNDS / 2) this.decreaseTo(now, this.accepted(now));
      else this.round = this.newRound(now);
      return 0;
    }
    if (settled && rate <= this.found && share >= this.o.stopShare && round.retryAfterMs > 0) {
      // Most refused with a Retry-After, back under the rate last accepted a window after it fell: the provider
      // means it, everyone waits. (Probing past it, a sliding window overshot refuses most for a moment.)
      this.decreaseTo(now, Math.min(rate, accepted));
      this.round = this.newRound(now + round.retryAfterMs);
      return round.retryAfterMs;
    }
    if (rate > this.found && congested) {
      this.decreaseTo(now, Math.min(rate, accepted));
      return 0;
    }
    if (settled && rate <= this.found) this.learn(share);
    if (round.sent >= BINDING * rate * seconds) {
      this.grownMs += now - from;
      this.idleMs = 0;
      // Back to the rate last accepted along a cubic flattening as it nears it, then a linear probe past it.
      const t = this.grownMs / this.o.recoverMs;
      this.rateValue =
        this.found *
        (t < 1 ? 1 - (1 - this.o.decrease) * (1 - t) ** 3 : 1 + (this.o.probe * (t - 1) * this.o.recoverMs) / 1000);
    } else if (round.refused === 0 && (this.idleMs += now - round.start) >= this.o.releaseMs) {
      this.rateValue = undefined;
    }
    this.round = this.newRound(now);
    return 0;
  }

  private accepted(now: number): number {
    return this.meter.sum(now) / (this.o.windowMs / 1000);
  }

  private learn(share: number): void {
    this.shares.push(share);
    if (this.shares.length > BACKGROUND_ROUNDS) this.shares.shift();
  }

  private decreaseTo(now: number, accepted: number): void {
    this.found = Math.max(this.o.minRate, accepted);
    this.rateValue = Math.max(this.o.minRate, this.found * this.o.decrease);
    this.decreasedAt = now;
    this.grownMs = 0;
    this.idleMs = 0;
    this.decreaseCount++;
    this.round = this.newRound(now);
  }

  private newRound(now: number): Round {
    return { start: now, firstSent: undefined, sent: 0, ok: 0, fresh: 0, refused: 0, retryAfterMs: 0 };
  }
}

function median(values: number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
