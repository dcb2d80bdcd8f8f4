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
 *
 * With a fleet (FleetShares: leases in PostgreSQL, activities/models/fleetLeases.ts), the declared limits
 * hold for every worker process together: each process admits up to its share of them, which the fleet
 * sets and moves as workers come, go and die (docs/decisions/fleet-endpoint-limits.md).
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

  /** The same schedule at another rate: slots already booked stay booked. */
  retuned(ratePerSecond: number, burst?: number): RatePacer {
    const pacer = new RatePacer(ratePerSecond, burst);
    pacer.theoreticalArrival = this.theoreticalArrival;
    return pacer;
  }

  reserve(now: number): number {
    const arrival = Math.max(this.theoreticalArrival, now);
    const sendAt = Math.max(now, arrival - this.tolerance);
    this.theoreticalArrival = arrival + this.interval;
    return sendAt - now;
  }
}

/** This process's part of an endpoint's declared limits, granted by the fleet. `rps` 0: no rate share (yet). */
export interface FleetShare {
  concurrency: number;
  rps: number;
}

/**
 * Shares of endpoint limits held for this process across a fleet of workers. It tracks each limiter from
 * its creation (asking for a share at once) and sets the limiter's share with `setFleetShare`.
 */
export interface FleetShares {
  track(endpoint: EndpointSpec, limiter: EndpointLimiter): void;
  /** The limiter was dropped (idle): its share goes back. */
  forget(limiter: EndpointLimiter): void;
  /** Stops renewing and gives every share back. */
  close(): Promise<void>;
}

/**
 * The pacer of an adaptive rate: smooth (bursts of 50 ms at most, enough to catch up a stalled event loop:
 * sliding-window quotas punish bursts), and carrying over the slots `previous` booked.
 */
export function adaptivePacer(ratePerSecond: number, previous?: RatePacer): RatePacer {
  const burst = Math.max(1, Math.floor(ratePerSecond / 20));
  return previous ? previous.retuned(ratePerSecond, burst) : new RatePacer(ratePerSecond, burst);
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
  /** The controller's adaptive rate (at most the declared one), when a refused round started pacing. */
  private adaptive: RatePacer | undefined;
  lastUsed = Date.now();
  /** Last time each distinct limit / rate was declared (few distinct values). */
  private limits = new Map<number, number>();
  private rates = new Map<number, number>();
  private lastRecompute = Date.now();
  private declaredLimit: number;
  private declaredRps: number | undefined;
  /** Set while a fleet coordinates this endpoint; the local limit is then min(adaptive, share). */
  private fleet: FleetShare | undefined;
  private fleetConcurrency = Infinity;
  /** Requests booked on pacers since replaced go out until `bookedUntil`, at up to `bookedRate`. */
  private bookedUntil = 0;
  private bookedRate = 0;
  /** The fleet grants no rate now: the pacer only serves callers that held a permit before. */
  private pacerParked = false;
  /** The pacer has paced under a fleet's rate share (before that, it has booked nothing). */
  private fleetPaced = false;
  /** Requests sent so far (the fleet counts a worker that sent since its last renewal as wanting a share). */
  sentCount = 0;
  /** Called when a caller must wait while the fleet grants this process nothing (it asks at once). */
  onStarved: (() => void) | undefined;

  constructor(
    readonly label: string,
    limit: number,
    maxRps: number | undefined,
    controlOptions: Omit<EndpointControlOptions, 'maxLimit'> = {},
  ) {
    this.semaphore = new FairSemaphore(limit);
    this.control = new EndpointControl({ ...controlOptions, maxLimit: limit }, Date.now());
    this.declaredLimit = limit;
    this.declaredRps = maxRps;
    this.pacer = maxRps ? new RatePacer(maxRps) : undefined;
    this.declare(limit, maxRps);
  }

  /** Records a caller's limits: a stricter one applies at once, lapsed ones are forgotten within a second. */
  declare(limit: number, maxRps: number | undefined, now: number = Date.now()): void {
    this.limits.set(limit, now);
    if (maxRps) this.rates.set(maxRps, now);
    if (limit < this.declaredLimit) this.setDeclaredLimit(limit);
    if (maxRps && (this.declaredRps === undefined || maxRps < this.declaredRps)) this.setDeclaredRps(maxRps, now);
    if (now - this.lastRecompute >= RECOMPUTE_EVERY_MS) this.recompute(now);
  }

  private setDeclaredLimit(limit: number): void {
    this.declaredLimit = limit;
    this.control.setMaxLimit(limit);
    this.semaphore.setLimit(Math.min(this.control.limit, this.fleetConcurrency));
  }

  private setDeclaredRps(rate: number | undefined, now: number): void {
    this.declaredRps = rate;
    this.applyRate(now);
  }

  /** The limits this process's callers declare now (the strictest of them), which the fleet shares out. */
  declared(): { concurrency: number; rps: number | undefined } {
    return { concurrency: this.declaredLimit, rps: this.declaredRps };
  }

  /** This process's share of the fleet's limits (undefined: no fleet, the declared limits hold per process). */
  setFleetShare(share: FleetShare | undefined, now: number = Date.now()): void {
    this.fleet = share && { ...share };
    this.fleetConcurrency = share ? share.concurrency : Infinity;
    this.semaphore.setLimit(Math.min(this.control.limit, this.fleetConcurrency));
    this.applyRate(now);
  }

  /**
   * Paces at the declared rate, or at this process's share of it. A changed share starts where the old
   * pacer's bookings end and with an empty bucket, so a new share is never a fresh burst on top of the old.
   */
  private applyRate(now: number): void {
    const declared = this.declaredRps;
    const rate = declared === undefined || !this.fleet ? declared : Math.min(declared, this.fleet.rps);
    if (rate === undefined) {
      this.pacer = undefined;
      return;
    }
    if (rate === 0) {
      // No share of the rate: the fleet grants no permits either; the pacer stays for callers already holding one.
      if (this.pacer && !this.pacerParked && this.fleetPaced) this.noteBookings(now);
      this.pacerParked = true;
      return;
    }
    this.fleetPaced = this.fleet !== undefined;
    if (rate === this.pacer?.ratePerSecond) {
      this.pacerParked = false;
      return;
    }
    const burst = Math.max(1, Math.floor(rate));
    const pacer = new RatePacer(rate, burst);
    if (this.fleet && this.pacer) {
      if (!this.pacerParked) this.noteBookings(now);
      const start = Math.max(now, this.bookedUntil);
      for (let i = 0; i < burst; i++) pacer.reserve(start);
    }
    this.pacer = pacer;
    this.pacerParked = false;
  }

  /** Requests already booked on the pacer being replaced go out until its next free slot, at its rate. */
  private noteBookings(now: number): void {
    const pacer = this.pacer!;
    const backlog = pacer.reserve(now);
    if (backlog <= 0) return;
    this.bookedRate = Math.max(now < this.bookedUntil ? this.bookedRate : 0, pacer.ratePerSecond);
    this.bookedUntil = Math.max(this.bookedUntil, now + backlog);
  }

  /** The fastest this process may send now: its pacer's rate, or a higher one still booked on a replaced pacer. */
  rateInUse(now: number = Date.now()): number {
    const pacing = this.pacer && !this.pacerParked ? this.pacer.ratePerSecond : 0;
    return Math.max(pacing, now < this.bookedUntil ? this.bookedRate : 0);
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
    if (rate !== this.declaredRps) this.setDeclaredRps(rate, now);
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
    if (permit === true && !this.pacer && this.control.rate === undefined && this.control.admit(now).go) return true;
    if (this.fleetConcurrency === 0) this.onStarved?.();
    return this.admitSlowly(permit, signal);
  }

  private async admitSlowly(permit: Promise<boolean> | true, signal: AbortSignal | undefined): Promise<AdmitResult> {
    if (permit !== true && !(await permit)) return false;
    let paced = false;
    for (;;) {
      const now = Date.now();
      const gate = this.control.admit(now);
      const pacer = this.currentPacer();
      let wait = 0;
      if (!gate.go) {
        if ('open' in gate) {
          this.semaphore.release();
          return 'open';
        }
        wait = gate.waitMs;
        // A slot booked before the pause is stale once it ends: book again, so the paused do not leave at once.
        paced = false;
      } else if (!paced && pacer) {
        paced = true;
        wait = pacer.reserve(now);
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

  /** The declared rate, or the adaptive one (at most the declared) while the controller paces. */
  private currentPacer(): RatePacer | undefined {
    const adaptive = this.control.rate;
    if (adaptive === undefined) return this.pacer;
    const rate = Math.min(adaptive, this.pacer?.ratePerSecond ?? Infinity);
    if (this.adaptive?.ratePerSecond !== rate) this.adaptive = adaptivePacer(rate, this.adaptive);
    return this.adaptive;
  }

  /** The admitted request leaves now; the stamp goes back with its reply. */
  sent(): number {
    this.sentCount++;
    return this.control.sent(Date.now());
  }

  /** What came back for a request sent at `sentAt` (before `release`): adjusts the limit, the pause and the circuit. */
  replied(sentAt: number, kind: ReplyKind, retryAfterMs?: number): void {
    const now = Date.now();
    this.control.reply(sentAt, now, kind, now - sentAt, retryAfterMs);
    const limit = Math.min(this.control.limit, this.fleetConcurrency);
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
    if (this.fleet) {
      stats.fleetShare = this.fleet.concurrency;
      if (this.declaredRps !== undefined) stats.fleetRps = this.fleet.rps;
    }
    if (control.rate !== undefined) stats.pacedRps = Math.min(control.rate, this.pacer?.ratePerSecond ?? Infinity);
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

  /**
   * Tests and benches tune the controller (a shorter breaker, say); the defaults suit production. Without a
   * fleet (no database: unit tests, benches) the declared limits hold per process.
   */
  constructor(
    private readonly controlOptions: Omit<EndpointControlOptions, 'maxLimit'> = {},
    private readonly fleet?: FleetShares,
  ) {}

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
    this.fleet?.track(endpoint, limiter);
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
      if (idle && now - limiter.lastUsed > DECLARATION_TTL_MS) {
        this.limiters.delete(key);
        this.fleet?.forget(limiter);
      }
    }
  }

  /** Gives the fleet's shares back (the worker is stopping). */
  async close(): Promise<void> {
    await this.fleet?.close();
  }
}

/** The process-wide registry: every model client in the process shares endpoint limits through it. */
export const processEndpointLimiters = new EndpointLimiters();
