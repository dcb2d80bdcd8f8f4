/**
 * Per-endpoint admission control shared by every caller in the process: a fair FIFO
 * semaphore (concurrency) whose limit an adaptive controller sets (domain/models/endpointControl.ts:
 * AIMD on 429/503 and latency growth, a pause when the endpoint refuses most of a round with a
 * Retry-After, a circuit breaker when it is down), and a GCRA token bucket (requests per second).
 *
 * An endpoint is keyed by protocol + url + model. When callers declare different
 * limits for the same endpoint (two model versions on one server), the strictest
 * wins: every declaration is then honoured. A declaration not repeated for
 * DECLARATION_TTL_MS lapses (its callers are gone), and limiters idle that long are
 * dropped, so a stale strict limit does not outlive its callers for long.
 */
import { onAbort } from './cancellation';
import { abortableSleep } from './sleep';
import { EndpointControl, type EndpointControlOptions, type ReplyKind } from '../../domain/models/endpointControl';
import type { EndpointSpec, EndpointStats } from '../../domain/models/types';
import type { RunMode } from '../../common/names';

interface Waiter {
  grant: () => void;
  /** Set when the waiter gave up; a granted permit skips it. */
  cancelled: boolean;
}

/**
 * Whose calls a freed permit goes to first: a release run's (and a gate's, an incident's) before
 * an exploratory run's. A caller that says nothing is served as release work — only work marked
 * exploratory yields. See docs/decisions/release-first.md.
 */
export type LanePriority = RunMode;

/** Waiters of one priority, oldest first (an array with a moving head: no shifting per grant). */
class WaitQueue {
  private items: Waiter[] = [];
  private head = 0;
  /** Waiters that have not given up. */
  size = 0;

  push(waiter: Waiter): void {
    this.items.push(waiter);
    this.size++;
  }

  /** A waiter of this queue gave up (it stays in the array, skipped when its turn comes). */
  cancel(waiter: Waiter): void {
    waiter.cancelled = true;
    if (--this.size === 0) this.clear();
  }

  /** The oldest waiter that has not given up, removed; undefined when there is none. */
  take(): Waiter | undefined {
    if (this.size === 0) return undefined;
    while (this.head < this.items.length) {
      const waiter = this.items[this.head++];
      if (waiter.cancelled) continue;
      if (--this.size === 0) this.clear();
      else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return waiter;
    }
    return undefined;
  }

  private clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Permits handed over by priority, then in arrival order: a freed permit goes to the oldest
 * release waiter, else to the oldest exploratory one — never to a newcomer while anyone waits.
 *
 * A permit a release call gives back while only exploratory calls wait is kept for one turn of
 * the event loop: the release run's lane takes its next example in that same turn, and without
 * the hand-over the permit would go to an exploratory call first, every time — a release part
 * has as many lanes as the endpoint has permits, so none of them would be waiting at that moment.
 * No permit is held back for release work that has not arrived (docs/decisions/release-first.md).
 */
export class FairSemaphore {
  private active = 0;
  private readonly queues: Record<LanePriority, WaitQueue> = { release: new WaitQueue(), exploratory: new WaitQueue() };
  /** Permits given back by release calls this turn, counted in `active` until a release call takes them or the turn ends. */
  private kept = 0;

  constructor(private limitValue: number) {}

  get limit(): number {
    return this.limitValue;
  }
  get inFlight(): number {
    return this.active - this.kept;
  }
  get queued(): number {
    return this.queues.release.size + this.queues.exploratory.size;
  }

  /** Lowering takes effect as permits come back; raising admits waiters at once. */
  setLimit(limit: number): void {
    this.limitValue = limit;
    this.drain();
  }

  /** Resolves true with a permit, or false (without one) when the signal aborts first. */
  acquire(signal?: AbortSignal, priority: LanePriority = 'release'): Promise<boolean> | true {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.kept > 0 && priority === 'release') {
      this.kept--;
      return true;
    }
    if (this.queued === 0 && this.active < this.limitValue) {
      this.active++;
      return true;
    }
    const queue = this.queues[priority];
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        cancelled: false,
        grant: () => {
          unsubscribe();
          resolve(true);
        },
      };
      const unsubscribe = onAbort(signal, () => {
        queue.cancel(waiter);
        resolve(false);
      });
      queue.push(waiter);
    });
  }

  /** Gives a permit back; `from`: the priority of the call that held it (a release call's is kept for its next one). */
  release(from?: LanePriority): void {
    if (from === 'release' && this.queues.release.size === 0 && this.queues.exploratory.size > 0) {
      if (this.kept++ === 0) setImmediate(this.endTurn);
      return;
    }
    this.active--;
    this.drain();
  }

  private readonly endTurn = (): void => {
    this.active -= this.kept;
    this.kept = 0;
    this.drain();
  };

  private drain(): void {
    while (this.active < this.limitValue) {
      const waiter = this.queues.release.take() ?? this.queues.exploratory.take();
      if (!waiter) return;
      this.active++;
      waiter.grant();
    }
  }
}

/**
 * A token bucket as GCRA (one number of state): `ratePerSecond` sustained, bursts of
 * `burst` requests. `reserve` books the next send slot and returns how long to wait.
 */
export class RatePacer {
  private theoreticalArrival = 0;
  private interval: number;
  private tolerance: number;

  constructor(
    public readonly ratePerSecond: number,
    burst: number = Math.max(1, Math.floor(ratePerSecond)),
  ) {
    this.interval = 1000 / ratePerSecond;
    this.tolerance = (burst - 1) * this.interval;
  }

  reserve(now: number): number {
    const arrival = Math.max(this.theoreticalArrival, now);
    const sendAt = Math.max(now, arrival - this.tolerance);
    this.theoreticalArrival = arrival + this.interval;
    return sendAt - now;
  }
}

const DECLARATION_TTL_MS = 5 * 60_000;
const RECOMPUTE_EVERY_MS = 1_000;

/** What admission gives: a permit (true), none because the caller aborted (false), none because the endpoint is down. */
export type AdmitResult = true | false | 'open';

export class EndpointLimiter {
  readonly semaphore: FairSemaphore;
  /** Adaptive concurrency, Retry-After pauses and the circuit breaker (see domain/models/endpointControl.ts). */
  readonly control: EndpointControl;
  pacer: RatePacer | undefined;
  lastUsed = Date.now();
  /** Last time each distinct limit / rate was declared (few distinct values). */
  private limits = new Map<number, number>();
  private rates = new Map<number, number>();
  private lastRecompute = Date.now();
  private declaredLimit: number;

  constructor(
    readonly label: string,
    limit: number,
    maxRps: number | undefined,
    controlOptions: Omit<EndpointControlOptions, 'maxLimit'> = {},
  ) {
    this.semaphore = new FairSemaphore(limit);
    this.control = new EndpointControl({ ...controlOptions, maxLimit: limit }, Date.now());
    this.declaredLimit = limit;
    this.pacer = maxRps ? new RatePacer(maxRps) : undefined;
    this.declare(limit, maxRps);
  }

  /** Records a caller's limits: a stricter one applies at once, lapsed ones are forgotten within a second. */
  declare(limit: number, maxRps: number | undefined, now: number = Date.now()): void {
    this.limits.set(limit, now);
    if (maxRps) this.rates.set(maxRps, now);
    if (limit < this.declaredLimit) this.setDeclaredLimit(limit);
    if (maxRps && (!this.pacer || maxRps < this.pacer.ratePerSecond)) this.pacer = new RatePacer(maxRps);
    if (now - this.lastRecompute >= RECOMPUTE_EVERY_MS) this.recompute(now);
  }

  private setDeclaredLimit(limit: number): void {
    this.declaredLimit = limit;
    this.control.setMaxLimit(limit);
    this.semaphore.setLimit(this.control.limit);
  }

  private recompute(now: number): void {
    this.lastRecompute = now;
    const strictest = (declared: Map<number, number>): number | undefined => {
      let min: number | undefined;
      for (const [value, at] of declared) {
        if (now - at > DECLARATION_TTL_MS) declared.delete(value);
        else if (min === undefined || value < min) min = value;
      }
      return min;
    };
    const limit = strictest(this.limits);
    if (limit !== undefined && limit !== this.declaredLimit) this.setDeclaredLimit(limit);
    const rate = strictest(this.rates);
    if (rate === undefined) this.pacer = undefined;
    else if (rate !== this.pacer?.ratePerSecond) this.pacer = new RatePacer(rate);
  }

  /** Holds every request to this endpoint until `ms` from now (longest pause wins). */
  pause(ms: number): void {
    this.control.pauseFor(Date.now(), ms);
  }

  /**
   * Waits for a permit, then for a pause and the rate limit. Gives true holding a permit
   * (report the request with `sent` and `replied`, give the permit back with `release`),
   * false without one when the signal aborts, 'open' without one when the circuit is open
   * (the endpoint is down: fail the call at once). Synchronous `true` on the fast path
   * (free permit, no pause, no pacing, circuit closed), so the common case costs no promise.
   * `priority`: waiting release calls get permits before exploratory ones (FairSemaphore).
   */
  admit(signal?: AbortSignal, priority?: LanePriority): Promise<AdmitResult> | AdmitResult {
    const now = (this.lastUsed = Date.now());
    if (this.control.circuitRefuses(now)) return 'open';
    const permit = this.semaphore.acquire(signal, priority);
    if (permit === true && !this.pacer && this.control.admit(now).go) return true;
    return this.admitSlowly(permit, signal);
  }

  private async admitSlowly(permit: Promise<boolean> | true, signal: AbortSignal | undefined): Promise<AdmitResult> {
    if (permit !== true && !(await permit)) return false;
    let paced = !this.pacer;
    for (;;) {
      const now = Date.now();
      const gate = this.control.admit(now);
      let wait = 0;
      if (!gate.go) {
        if ('open' in gate) {
          this.semaphore.release();
          return 'open';
        }
        wait = gate.waitMs;
      } else if (!paced && this.pacer) {
        paced = true;
        wait = this.pacer.reserve(now);
        // A pause may begin while this caller waits for its slot (another caller's 429): check again.
        if (wait === 0) return true;
      } else {
        return true;
      }
      if (!(await abortableSleep(wait, signal))) {
        this.semaphore.release();
        return false;
      }
    }
  }

  /** The admitted request leaves now; the stamp goes back with its reply. */
  sent(): number {
    return this.control.sent(Date.now());
  }

  /** What came back for a request sent at `sentAt` (before `release`): adjusts the limit, the pause and the circuit. */
  replied(sentAt: number, kind: ReplyKind, retryAfterMs?: number): void {
    const now = Date.now();
    this.control.reply(sentAt, now, kind, now - sentAt, retryAfterMs);
    const limit = this.control.limit;
    if (limit !== this.semaphore.limit) this.semaphore.setLimit(limit);
  }

  /** Gives the permit back; `from`: the priority it was admitted with (see FairSemaphore.release). */
  release(from?: LanePriority): void {
    this.lastUsed = Date.now();
    this.semaphore.release(from);
  }

  stats(): EndpointStats {
    const control = this.control.state();
    const stats: EndpointStats = {
      endpoint: this.label,
      limit: this.semaphore.limit,
      maxLimit: this.declaredLimit,
      inFlight: this.semaphore.inFlight,
      queued: this.semaphore.queued,
      paused: control.pausedUntil > Date.now(),
      circuit: control.circuit,
      decreases: control.decreases,
      pauses: control.pauses,
    };
    if (this.pacer) stats.maxRps = this.pacer.ratePerSecond;
    return stats;
  }
}

/** protocol, URL without credentials or query string (either may hold a key), model. */
export function endpointLabel(endpoint: EndpointSpec): string {
  let where = endpoint.url;
  try {
    const url = new URL(endpoint.url);
    where = `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    where = '(unparseable url)';
  }
  return `${endpoint.protocol} ${where}${endpoint.model ? ` ${endpoint.model}` : ''}`;
}

const SWEEP_EVERY_MS = 60_000;

export class EndpointLimiters {
  private limiters = new Map<string, EndpointLimiter>();
  private lastSweep = Date.now();

  /** Tests and benches tune the controller (a shorter breaker, say); the defaults suit production. */
  constructor(private readonly controlOptions: Omit<EndpointControlOptions, 'maxLimit'> = {}) {}

  /** The limiter for an endpoint, created on first use and tightened by stricter declarations. */
  forEndpoint(endpoint: EndpointSpec, defaultMaxConcurrency: number): EndpointLimiter {
    const key = `${endpoint.protocol}\u0000${endpoint.url}\u0000${endpoint.model ?? ''}`;
    const limit = Math.max(1, Math.floor(endpoint.maxConcurrency ?? defaultMaxConcurrency));
    const maxRps = endpoint.maxRps !== undefined && endpoint.maxRps > 0 ? endpoint.maxRps : undefined;
    let limiter = this.limiters.get(key);
    if (limiter) {
      limiter.declare(limit, maxRps);
      return limiter;
    }
    this.sweep();
    limiter = new EndpointLimiter(endpointLabel(endpoint), limit, maxRps, this.controlOptions);
    this.limiters.set(key, limiter);
    return limiter;
  }

  stats(): EndpointStats[] {
    return [...this.limiters.values()].map((limiter) => limiter.stats());
  }

  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, limiter] of this.limiters) {
      const idle = limiter.semaphore.inFlight === 0 && limiter.semaphore.queued === 0;
      if (idle && now - limiter.lastUsed > DECLARATION_TTL_MS) this.limiters.delete(key);
    }
  }
}

/** The process-wide registry: every model client in the process shares endpoint limits through it. */
export const processEndpointLimiters = new EndpointLimiters();
