/**
 * Adaptive control of one model endpoint: how many requests it may have in flight, when it
 * is paused, and whether it is down. Pure and deterministic: every input carries its time
 * (`now`, `sentAt`, in ms on any monotonic-enough clock), so tests drive it with a fake clock.
 *
 * Concurrency is AIMD in rounds of one round trip. A round starts when the last one was judged; it
 * is judged once 16 requests sent since it began (or all of them, when fewer were sent) have replied
 * — a full round trip later — on every reply that arrived meanwhile:
 *  - congested (429/503 over `congestionTolerance` of its replies, or its mean latency grown past
 *    `latencyTolerance`× the endpoint's baseline) → the limit is multiplied by `decrease`;
 *  - mostly refused (≥ `refusedFraction` 429/503 carrying a Retry-After) → the endpoint is also
 *    paused for the longest Retry-After of the round, and the limit restarts from `minLimit`
 *    in slow start (doubling per round trip up to what the round accepted), then additive.
 * Replies to requests sent before the last decision never count again: a burst of 429s already in
 * flight when the limit fell (or the pause began) neither lowers it twice nor extends the pause.
 * Otherwise every success adds 1/limit (one per round trip), or 1 in slow start.
 *
 * A scattering of errors is not congestion: a provider that answers 5% of requests 429 whatever
 * the load must not drive the limit down a round at a time (each request that got one still waits
 * its Retry-After, holding no permit). See docs/decisions/endpoint-control.md.
 *
 * A mostly refused round of 16 replies or more also starts pacing (rateControl.ts: an adaptive
 * rate just under what the endpoint accepted; the rate's own rounds may start it too). Then the
 * limit falls as on congestion instead of restarting from `minLimit` (the pacer spreads the
 * restart), and a window-long Retry-After pauses only until the provider's window has room.
 * While paced, 429s steer the rate, not the concurrency, and neither does latency growth (the
 * rate bounds the load; a latency inflated by a busy worker would only throttle it further).
 *
 * Circuit breaker: `breakerFailures` failures in a row (connection errors, timeouts, 5xx), the
 * first at least `breakerAfterMs` before the last, open the circuit: admissions are refused at
 * once until `probeMs` has passed, then one probe goes through; its success closes the circuit,
 * its failure reopens it for twice as long (up to `maxProbeMs`).
 */

import { RateControl, type RateControlOptions } from './rateControl';

/** What a reply says about the endpoint. */
export type ReplyKind =
  /** 2xx. */
  | 'ok'
  /** 429: the endpoint is up and asks for less. */
  | 'rate_limited'
  /** 503: overloaded or down — congestion, and a failure for the breaker. */
  | 'overloaded'
  /** Connection failure, timeout, other 5xx. */
  | 'failed'
  /** Answered, not usefully (4xx, bad body): the endpoint is up, and says nothing of its load. */
  | 'answered'
  /** The caller gave up: says nothing. */
  | 'cancelled';

export interface EndpointControlOptions {
  /** The declared concurrency limit: the controller never goes above it. */
  maxLimit: number;
  minLimit?: number;
  /** Multiplicative decrease factor. */
  decrease?: number;
  /** Fraction of a round's replies that may be 429/503 before it counts as congested. */
  congestionTolerance?: number;
  /** Fraction of 429/503 (with Retry-After) that makes a round refused: the endpoint is paused. */
  refusedFraction?: number;
  /** Mean latency over this many times the baseline is congestion... */
  latencyTolerance?: number;
  /** ...when it also grew by at least this many ms (tiny latencies jitter by multiples). */
  latencyFloorMs?: number;
  breakerFailures?: number;
  breakerAfterMs?: number;
  probeMs?: number;
  maxProbeMs?: number;
  /** The adaptive rate, engaged by a refused round (rateControl.ts). */
  rate?: RateControlOptions;
}

export type Admission = { go: true } | { go: false; waitMs: number } | { go: false; open: true };

export interface ControlState {
  limit: number;
  inFlight: number;
  pausedUntil: number;
  circuit: 'closed' | 'open' | 'half-open';
  decreases: number;
  pauses: number;
  /** Requests per second the endpoint is paced at (undefined: not paced), and times that rate fell. */
  rate: number | undefined;
  rateDecreases: number;
}

interface Round {
  start: number;
  sent: number;
  fresh: number;
  replies: number;
  /** 429/503 replies (not 429s while paced: they steer the rate), and those with a Retry-After. */
  congested: number;
  refused: number;
}

/** Replies a round needs before it is judged (fewer when fewer were in flight). */
const ROUND_MIN_REPLIES = 16;

export class EndpointControl {
  private readonly options: Required<EndpointControlOptions>;
  private window: number;
  private slowStartUntil = 0;
  private inFlightCount = 0;
  private pausedUntilMs = 0;
  /** Replies to requests sent before this time do not count (they were judged, or paused for). */
  private lastDecision: number;
  /** The round in judgement: `sent` requests left since it began, `fresh` of them have replied. */
  private round: Round;
  private roundLatency = { sum: 0, n: 0 };
  private roundRetryAfter = 0;
  private baselineMs: number | undefined;
  private failures = 0;
  private firstFailureAt = 0;
  private circuitState: ControlState['circuit'] = 'closed';
  private openUntil = 0;
  private probeWait: number;
  private probing = false;
  private counters = { decreases: 0, pauses: 0 };
  private readonly rateControl: RateControl;

  constructor(options: EndpointControlOptions, now: number) {
    this.options = {
      minLimit: 1,
      decrease: 0.7,
      congestionTolerance: 0.08,
      refusedFraction: 0.5,
      latencyTolerance: 3,
      latencyFloorMs: 50,
      breakerFailures: 10,
      breakerAfterMs: 2_000,
      probeMs: 2_000,
      maxProbeMs: 60_000,
      rate: {},
      ...options,
    };
    this.rateControl = new RateControl(this.options.rate, now);
    this.window = this.options.maxLimit;
    this.probeWait = this.options.probeMs;
    this.lastDecision = now;
    this.round = this.newRound(now);
  }

  /** Whole requests that may be in flight now. */
  get limit(): number {
    return Math.max(this.options.minLimit, Math.min(this.options.maxLimit, Math.floor(this.window)));
  }

  /** Requests per second to pace at; undefined: not paced. */
  get rate(): number | undefined {
    return this.rateControl.rate;
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** A stricter or looser declaration: the limit never exceeds it. */
  setMaxLimit(maxLimit: number): void {
    // A window pinned at the old declared limit (no congestion found below it) follows a raised one.
    const pinned = this.window >= this.options.maxLimit;
    this.options.maxLimit = maxLimit;
    this.window = pinned ? maxLimit : Math.min(this.window, maxLimit);
  }

  /** Whether a request may be sent now (the caller also holds a concurrency permit). */
  admit(now: number): Admission {
    if (this.circuitState !== 'closed') {
      if (this.circuitState === 'half-open' || now < this.openUntil) return { go: false, open: true };
      this.circuitState = 'half-open';
      this.probing = true;
      return { go: true };
    }
    if (now < this.pausedUntilMs) return { go: false, waitMs: this.pausedUntilMs - now };
    return { go: true };
  }

  /** Without side effects: the circuit is open and not yet due for a probe. */
  circuitRefuses(now: number): boolean {
    return this.circuitState === 'half-open' || (this.circuitState === 'open' && now < this.openUntil);
  }

  /** Holds every admission until `ms` from now (an operator's or a test's pause; longest wins). */
  pauseFor(now: number, ms: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, now + ms);
  }

  get circuit(): ControlState['circuit'] {
    return this.circuitState;
  }

  /** A request leaves now; give the returned stamp back with its reply. */
  sent(now: number): number {
    this.inFlightCount++;
    this.round.sent++;
    this.rateControl.sent(now);
    return now;
  }

  /** The reply to a request sent at `sentAt`. */
  reply(sentAt: number, now: number, kind: ReplyKind, latencyMs: number, retryAfterMs?: number): void {
    this.inFlightCount = Math.max(0, this.inFlightCount - 1);
    this.breaker(now, kind);
    const pauseMs = this.rateControl.reply(
      sentAt,
      now,
      kind === 'ok' || kind === 'rate_limited' ? kind : 'other',
      retryAfterMs,
    );
    if (pauseMs > 0) {
      // Paced, and most of a round refused even at the lowered rate: the provider means it.
      this.pausedUntilMs = Math.max(this.pausedUntilMs, now + pauseMs);
      this.counters.pauses++;
      this.lastDecision = now;
      this.startRound(now);
      return;
    }
    // Replies to requests sent before the last decision neither lower the limit again nor raise it.
    if (kind === 'cancelled' || kind === 'failed' || kind === 'answered' || sentAt < this.lastDecision) return;
    if (kind === 'ok')
      this.window = Math.min(
        this.options.maxLimit,
        this.window < this.slowStartUntil
          ? Math.min(this.slowStartUntil, this.window + 1)
          : this.window + 1 / Math.max(1, this.window),
      );
    const round = this.round;
    round.replies++;
    if (kind === 'ok') {
      this.roundLatency.sum += latencyMs;
      this.roundLatency.n++;
    } else if (kind !== 'rate_limited' || this.rateControl.rate === undefined) {
      // (Paced, a 429 steers the rate, in its own rounds; to the concurrency it is only a reply.)
      round.congested++;
      if (retryAfterMs !== undefined) {
        round.refused++;
        this.roundRetryAfter = Math.max(this.roundRetryAfter, retryAfterMs);
      }
    }
    // Judged once a few requests sent since it began have replied: a round trip has passed.
    if (sentAt >= round.start && ++round.fresh >= Math.max(1, Math.min(ROUND_MIN_REPLIES, round.sent)))
      this.judgeRound(now);
  }

  private judgeRound(now: number): void {
    const { replies, congested, refused } = this.round;
    const paced = this.rateControl.rate !== undefined;
    const meanLatency = this.roundLatency.n ? this.roundLatency.sum / this.roundLatency.n : undefined;
    let latencyGrew = false;
    if (meanLatency !== undefined) {
      const baseline = this.baselineMs ?? meanLatency;
      latencyGrew =
        meanLatency > baseline * this.options.latencyTolerance && meanLatency - baseline > this.options.latencyFloorMs;
      // The baseline follows the fastest rounds, and drifts up slowly toward a lasting slower normal.
      this.baselineMs = meanLatency < baseline ? meanLatency : baseline + (meanLatency - baseline) * 0.02;
    }
    const o = this.options;
    if (refused > 0 && refused / replies >= o.refusedFraction) {
      // A refused round big enough to say something (not the last few requests of a run) starts or lowers the
      // pacing, which may shorten the pause (rateControl.ts).
      const roundTripMs = this.baselineMs ?? meanLatency ?? now - this.round.start;
      const pacedPause =
        replies >= ROUND_MIN_REPLIES ? this.rateControl.refused(now, roundTripMs, this.roundRetryAfter) : undefined;
      const pauseMs = pacedPause ?? this.roundRetryAfter;
      this.pausedUntilMs = Math.max(this.pausedUntilMs, now + pauseMs);
      if (pacedPause !== undefined) {
        // Paced from now on: the pacer spreads the restart, the concurrency only falls as on congestion.
        this.window = Math.max(o.minLimit, this.window * o.decrease);
        this.slowStartUntil = 0;
      } else {
        // What the endpoint accepted in the round is what it can take: slow start only that far, then additive.
        this.slowStartUntil = Math.max(o.minLimit, Math.min(this.window * o.decrease, replies - congested));
        this.window = o.minLimit;
      }
      this.decided(now, pauseMs > 0);
    } else if (congested / replies > o.congestionTolerance || (latencyGrew && !paced)) {
      this.window = Math.max(o.minLimit, this.window * o.decrease);
      this.slowStartUntil = 0;
      this.decided(now, false);
    } else {
      this.startRound(now);
    }
  }

  private decided(now: number, paused: boolean): void {
    this.counters.decreases++;
    if (paused) this.counters.pauses++;
    this.lastDecision = now;
    this.startRound(now);
  }

  private startRound(now: number): void {
    this.round = this.newRound(now);
    this.roundLatency = { sum: 0, n: 0 };
    this.roundRetryAfter = 0;
  }

  private newRound(now: number): Round {
    return { start: now, sent: 0, fresh: 0, replies: 0, congested: 0, refused: 0 };
  }

  private breaker(now: number, kind: ReplyKind): void {
    if (kind === 'cancelled') {
      if (this.probing) {
        // The probe told nothing: the next admission probes again.
        this.probing = false;
        this.circuitState = 'open';
        this.openUntil = now;
      }
      return;
    }
    if (kind === 'failed' || kind === 'overloaded') {
      if (this.failures++ === 0) this.firstFailureAt = now;
      if (this.probing) {
        this.probing = false;
        this.probeWait = Math.min(this.options.maxProbeMs, this.probeWait * 2);
        this.open(now);
      } else if (
        this.circuitState === 'closed' &&
        this.failures >= this.options.breakerFailures &&
        now - this.firstFailureAt >= this.options.breakerAfterMs
      ) {
        this.open(now);
      }
      return;
    }
    this.failures = 0;
    if (this.circuitState !== 'closed') {
      this.circuitState = 'closed';
      this.probing = false;
      this.probeWait = this.options.probeMs;
    }
  }

  private open(now: number): void {
    this.circuitState = 'open';
    this.openUntil = now + this.probeWait;
  }

  state(): ControlState {
    return {
      limit: this.limit,
      inFlight: this.inFlightCount,
      pausedUntil: this.pausedUntilMs,
      circuit: this.circuitState,
      ...this.counters,
      rate: this.rateControl.rate,
      rateDecreases: this.rateControl.decreases,
    };
  }
}
