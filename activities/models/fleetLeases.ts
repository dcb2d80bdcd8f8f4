/**
 * This worker's leases on the fleet's endpoint limits (docs/decisions/fleet-endpoint-limits.md): for each
 * endpoint it calls, a share of the declared maxConcurrency and maxRps, renewed in PostgreSQL every
 * `renewMs` and lapsing after `leaseMs`, so a worker that dies gives its share back by expiry.
 *
 * Nothing here is on a request's path: admission stays in memory (EndpointLimiter). A timer samples each
 * endpoint's demand (calls in flight and waiting) and renews; a caller that finds no share at all asks
 * at once (`onStarved`), so a worker alone gets the whole limit within one transaction. A share that lapses
 * without renewal (PostgreSQL unreachable for a whole lease) drops to nothing: calls already sent finish,
 * no new ones start until a renewal succeeds.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { EndpointLimiter, FleetShare, FleetShares } from './endpointLimiter';
import { claimShare, releaseShares } from '../../domain/fleet/dal';
import { fleetEndpointKey } from '../../domain/fleet/share';
import type { EndpointSpec } from '../../domain/models/types';
import type { Logger } from '../../common/logger';

export interface FleetLeaseOptions {
  pool: Pool;
  /** A share not renewed within this lapses, here and in PostgreSQL. */
  leaseMs: number;
  /** Default: a quarter of the lease (three renewals may fail before it lapses). */
  renewMs?: number;
  /** Default: host/pid/random, unique per process. */
  workerId?: string;
  logger?: Pick<Logger, 'warn' | 'info' | 'debug'>;
}

interface Tracked {
  endpointKey: string;
  label: string;
  limiter: EndpointLimiter;
  share: FleetShare;
  /** A lease row may exist (the last claim kept one, or its outcome is unknown). */
  held: boolean;
  /** The share lapses here (local clock) unless renewed: somewhat less than the lease's length after the claim was sent. */
  validUntil: number;
  claiming: boolean;
  /** A caller found no share while a claim was out: ask again as soon as it returns. */
  starved: boolean;
  /** The last claim left this worker short of its fair share, or holding requests beyond it: ask again soon. */
  unsettled: boolean;
  lastClaimAt: number;
  nextClaimAt: number;
  sentAtLastClaim: number;
  /** Most calls in flight and waiting seen since the last claim. */
  peakDemand: number;
  lapsed: boolean;
}

export class FleetLeases implements FleetShares {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly renewMs: number;
  private readonly tickMs: number;
  private tracked = new Map<EndpointLimiter, Tracked>();
  private claims = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: FleetLeaseOptions) {
    this.leaseMs = options.leaseMs;
    this.renewMs = options.renewMs ?? Math.max(50, Math.floor(options.leaseMs / 4));
    this.tickMs = Math.max(20, Math.min(250, Math.floor(this.renewMs / 5)));
    this.workerId = options.workerId ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  }

  track(endpoint: EndpointSpec, limiter: EndpointLimiter): void {
    if (this.closed) return;
    const now = Date.now();
    const tracked: Tracked = {
      endpointKey: fleetEndpointKey(endpoint),
      label: limiter.label,
      limiter,
      share: { concurrency: 0, rps: 0 },
      held: false,
      validUntil: now,
      claiming: false,
      starved: false,
      unsettled: false,
      lastClaimAt: now,
      nextClaimAt: now,
      sentAtLastClaim: limiter.sentCount,
      peakDemand: 0,
      lapsed: false,
    };
    this.tracked.set(limiter, tracked);
    // Nothing is admitted before the first grant; the first caller to wait asks for it.
    limiter.setFleetShare(tracked.share, now);
    limiter.onStarved = () => this.starved(tracked);
    this.timer ??= setInterval(() => this.tick(), this.tickMs).unref();
  }

  forget(limiter: EndpointLimiter): void {
    const tracked = this.tracked.get(limiter);
    if (!tracked) return;
    this.tracked.delete(limiter);
    limiter.onStarved = undefined;
    if (tracked.held)
      releaseShares(this.options.pool, this.workerId, [tracked.endpointKey]).catch((err: Error) =>
        this.options.logger?.debug({ err: err.message, endpoint: tracked.label }, 'fleet lease not released'),
      );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.claims]);
    const held = [...this.tracked.values()].some((tracked) => tracked.held);
    for (const limiter of this.tracked.keys()) limiter.onStarved = undefined;
    this.tracked.clear();
    if (held) await releaseShares(this.options.pool, this.workerId).catch(() => undefined);
  }

  /** A caller waits and this worker has no share: ask now, unless a claim is out or one was answered just now. */
  private starved(tracked: Tracked): void {
    if (tracked.claiming) tracked.starved = true;
    else if (!tracked.held || Date.now() - tracked.lastClaimAt >= this.renewMs / 4) this.claim(tracked, true);
  }

  private tick(): void {
    const now = Date.now();
    for (const tracked of this.tracked.values()) {
      const { semaphore } = tracked.limiter;
      tracked.peakDemand = Math.max(tracked.peakDemand, semaphore.inFlight + semaphore.queued);
      if (!tracked.lapsed && now >= tracked.validUntil && (tracked.share.concurrency > 0 || tracked.share.rps > 0)) {
        tracked.lapsed = true;
        this.apply(tracked, { concurrency: 0, rps: 0 }, now);
        this.options.logger?.warn(
          { endpoint: tracked.label, leaseMs: this.leaseMs },
          'fleet share of an endpoint lapsed (PostgreSQL not reachable?): no new calls to it until a renewal succeeds',
        );
      }
      if (tracked.claiming || now < tracked.nextClaimAt) continue;
      const renewal =
        tracked.held && now - tracked.lastClaimAt >= (tracked.unsettled ? this.renewMs / 4 : this.renewMs);
      const wanted = !tracked.held && tracked.peakDemand > 0;
      if (renewal || wanted || (tracked.lapsed && tracked.peakDemand > 0)) this.claim(tracked, false);
    }
  }

  private claim(tracked: Tracked, starved: boolean): void {
    if (this.closed) return;
    tracked.claiming = true;
    const claim = this.renew(tracked, starved).finally(() => {
      tracked.claiming = false;
      this.claims.delete(claim);
      if (tracked.starved && !this.closed) {
        tracked.starved = false;
        if (!tracked.held && tracked.limiter.semaphore.queued > 0) this.claim(tracked, true);
      }
    });
    this.claims.add(claim);
  }

  private async renew(tracked: Tracked, starved: boolean): Promise<void> {
    const { limiter } = tracked;
    const now = Date.now();
    const declared = limiter.declared();
    const inFlight = limiter.semaphore.inFlight;
    const waiting = inFlight + limiter.semaphore.queued;
    const sent = limiter.sentCount - tracked.sentAtLastClaim;
    const sentCount = limiter.sentCount;
    // A caller with no share to wait on stands for a batch behind it: ask for all the worker may use.
    const wants = starved ? declared.concurrency : Math.max(tracked.peakDemand, waiting, sent > 0 ? 1 : 0);
    const demand = Math.min(declared.concurrency, limiter.control.limit, wants);
    const rate = declared.rps ?? 0;
    // A worker with calls to make asks for the whole rate: the rate splits evenly among them. (Asking for the rate
    // it used instead starved workers whose callers were booked far ahead at a small rate: see the decision record.)
    const demandRps = rate > 0 && demand > 0 ? rate : 0;
    try {
      const decision = await claimShare(this.options.pool, {
        endpointKey: tracked.endpointKey,
        label: tracked.label,
        workerId: this.workerId,
        declaredConcurrency: declared.concurrency,
        declaredRps: rate,
        demandConcurrency: demand,
        demandRps,
        // What may be in flight before this answer applies: the local limit now, or more while draining.
        ceiling: Math.max(inFlight, limiter.semaphore.limit),
        rpsCeiling: rate > 0 ? limiter.rateInUse(now) : 0,
        leaseMs: this.leaseMs,
        rotation: Math.floor(now / (4 * this.leaseMs)),
      });
      if (this.closed) return;
      tracked.held = !(decision.concurrency === 0 && decision.recordedRps === 0 && demand === 0);
      // Lapses here a little before PostgreSQL lets others take it: requests in flight have that long to finish.
      tracked.validUntil = now + this.leaseMs - this.renewMs / 2;
      tracked.lastClaimAt = now;
      tracked.nextClaimAt = now;
      tracked.sentAtLastClaim = sentCount;
      tracked.peakDemand = limiter.semaphore.inFlight + limiter.semaphore.queued;
      tracked.unsettled =
        decision.usable < decision.target ||
        decision.concurrency > decision.usable ||
        decision.recordedRps > decision.rps ||
        (decision.maxRps > 0 && decision.rps < decision.targetRps * 0.99);
      // An answer that took longer than the lease is stale: PostgreSQL may have handed the share on meanwhile.
      if (Date.now() >= tracked.validUntil) return;
      if (tracked.lapsed) this.options.logger?.info({ endpoint: tracked.label }, 'fleet share of an endpoint renewed');
      tracked.lapsed = false;
      this.apply(tracked, { concurrency: decision.usable, rps: decision.rps }, Date.now());
    } catch (err) {
      // Retried at the next ticks; the share holds until it lapses.
      tracked.nextClaimAt = Date.now() + this.renewMs / 4;
      this.options.logger?.debug({ err: (err as Error).message, endpoint: tracked.label }, 'fleet lease not renewed');
    }
  }

  private apply(tracked: Tracked, share: FleetShare, now: number): void {
    tracked.share = share;
    tracked.limiter.setFleetShare(share, now);
  }
}
