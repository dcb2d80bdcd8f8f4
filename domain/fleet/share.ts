/**
 * How the workers of a fleet share one endpoint's declared limits (docs/decisions/fleet-endpoint-limits.md).
 * Pure: the data-access module (domain/fleet/dal.ts) runs `decideShare` inside the transaction that holds the
 * endpoint's row lock, over the unexpired leases of the other workers.
 *
 * The invariant: the concurrency grants of unexpired leases never sum past the fleet's limit (nor the rate
 * grants past its rate). A grant is what its worker may have in flight; the worker keeps its local limit at
 * `usable`, which may be lower while requests sent under an earlier, larger grant drain: the lease keeps
 * covering them (`hold`), so the sum covers every request in flight, and the excess goes back at a later
 * renewal. A worker never takes more than the others have left free; a worker over its fair share gives back.
 * Rates likewise: a lowered rate applies to requests paced from now on, and the lease keeps covering the old rate
 * while requests booked at it are still to go out.
 *
 * Fair share is max-min fairness over what each worker asks for (its demand): workers asking for less than
 * an equal split get what they ask, the rest split what is left, and what nobody asked for is spread over the
 * workers asking (a worker alone gets the whole limit). Whole permits left over by the split go to the
 * workers in an order that rotates with `rotation`, so no worker is always last when the limit is smaller
 * than the number of workers asking.
 */
import { sha256Hex } from '../../common/canonical';
import type { EndpointSpec } from '../models/types';

/** One worker's lease as stored. `rps` and `declaredRps` are 0 when no rate is declared. */
export interface FleetLease {
  workerId: string;
  /** The concurrency and rate this worker's callers declare (the strictest of them). */
  declaredConcurrency: number;
  declaredRps: number;
  /** What the worker asked for at its last renewal. */
  demandConcurrency: number;
  demandRps: number;
  /** What it holds. */
  concurrency: number;
  rps: number;
}

export interface ShareRequest {
  workerId: string;
  declaredConcurrency: number;
  /** 0: no rate declared. */
  declaredRps: number;
  demandConcurrency: number;
  demandRps: number;
  /**
   * The most requests the worker can have in flight until this answer applies: its local limit now, or its
   * in-flight count when that is higher (requests still draining after a lowered grant).
   */
  ceiling: number;
  /**
   * Likewise for the rate: the fastest the worker may send until this answer applies — its pacer's rate now, or a
   * higher one while requests booked on an earlier pacer still go out at it. 0 or absent: none.
   */
  rpsCeiling?: number;
}

export interface ShareDecision {
  /** What the lease records: covers `usable` and whatever is still in flight beyond it. */
  concurrency: number;
  /** What the worker may have in flight from now on (its local limit). */
  usable: number;
  /** The worker's fair share: when above `usable`, the others still hold the difference and give it back soon. */
  target: number;
  /** The rate the worker may pace new requests at (0 with no rate declared, or nothing free yet). */
  rps: number;
  /** What the lease records: covers `rps` and requests already booked at a higher rate. */
  recordedRps: number;
  targetRps: number;
  /** The fleet's limits now: the strictest declaration among the live leases. */
  limit: number;
  /** 0: no rate declared. */
  maxRps: number;
}

/** A rate share below this fraction of the worker's fair rate is not worth pacing by (its callers would book far ahead). */
const MIN_USEFUL_RPS_FRACTION = 0.5;

/**
 * Max-min fair split of `capacity` over `demands`; what nobody asked for goes in equal parts to the workers
 * asking for anything, so a worker alone gets the whole capacity whatever its demand (it may grow before the
 * next renewal), and demand only decides a contested split. With `whole`, shares are integers, and the permits
 * an even split leaves over go one each to the workers asking, in an order that starts at `rotation`.
 */
export function fairShares(demands: readonly number[], capacity: number, whole: boolean, rotation = 0): number[] {
  const n = demands.length;
  const shares = new Array<number>(n).fill(0);
  const asking = demands.map((_, i) => i).filter((i) => demands[i] > 0);
  if (asking.length === 0 || capacity <= 0) return shares;
  const order = [...asking].sort((a, b) => demands[a] - demands[b] || a - b);
  let remaining = capacity;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    shares[i] = Math.min(demands[i], remaining / (order.length - k));
    remaining -= shares[i];
  }
  for (const i of asking) shares[i] += remaining / asking.length;
  if (!whole) return shares;
  remaining = capacity;
  for (const i of asking) remaining -= shares[i] = Math.floor(shares[i] + 1e-9);
  const start = ((rotation % n) + n) % n;
  for (let k = 0; k < n && remaining >= 1; k++) {
    const i = (start + k) % n;
    if (demands[i] > 0) {
      shares[i]++;
      remaining--;
    }
  }
  return shares;
}

/**
 * This worker's grant, given the other workers' unexpired leases and its own (undefined when it has none or it
 * expired). Workers are ordered by id for the split, so every worker computes the same split from the same leases.
 */
export function decideShare(
  others: readonly FleetLease[],
  own: FleetLease | undefined,
  request: ShareRequest,
  rotation = 0,
): ShareDecision {
  const live = [...others.filter((lease) => lease.workerId !== request.workerId), leaseOf(request)].sort((a, b) =>
    a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0,
  );
  const self = live.findIndex((lease) => lease.workerId === request.workerId);
  const limit = Math.min(...live.map((lease) => lease.declaredConcurrency));
  const rates = live.map((lease) => lease.declaredRps).filter((rps) => rps > 0);
  const maxRps = rates.length ? Math.min(...rates) : 0;

  const demands = live.map((lease) => Math.max(0, Math.min(limit, Math.floor(lease.demandConcurrency))));
  const target = fairShares(demands, limit, true, rotation)[self];
  const heldByOthers = sum(others, (lease) => (lease.workerId === request.workerId ? 0 : lease.concurrency));
  const free = Math.max(0, limit - heldByOthers);

  let rps = 0;
  let recordedRps = 0;
  let targetRps = 0;
  if (maxRps > 0) {
    const rateDemands = live.map((lease) => (lease.demandConcurrency > 0 ? Math.min(maxRps, lease.demandRps) : 0));
    targetRps = fairShares(rateDemands, maxRps, false)[self];
    const freeRps = Math.max(0, maxRps - sum(others, (l) => (l.workerId === request.workerId ? 0 : l.rps)));
    rps = Math.min(targetRps, freeRps);
    if (rps < targetRps * MIN_USEFUL_RPS_FRACTION) rps = 0;
    recordedRps = Math.max(rps, Math.min(request.rpsCeiling ?? 0, own ? own.rps : freeRps));
  }
  // A declared rate with no share of it yet sends nothing, so it holds no new permits either.
  const usable = maxRps > 0 && rps === 0 ? 0 : Math.min(target, free);
  // In flight beyond the new grant stays covered until it drains: from the old grant, or from what is free.
  const hold = Math.min(Math.max(0, Math.floor(request.ceiling)), own ? own.concurrency : free);
  return { concurrency: Math.max(usable, hold), usable, target, rps, recordedRps, targetRps, limit, maxRps };
}

function leaseOf(request: ShareRequest): FleetLease {
  return {
    workerId: request.workerId,
    declaredConcurrency: request.declaredConcurrency,
    declaredRps: request.declaredRps,
    demandConcurrency: request.demandConcurrency,
    demandRps: request.demandRps,
    concurrency: 0,
    rps: 0,
  };
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}

/**
 * The endpoint's name in the lease tables: a hash of protocol, URL and model (the same three the process keys its
 * limiter by), so no URL — which may carry a key in its query string — is stored.
 */
export function fleetEndpointKey(endpoint: Pick<EndpointSpec, 'protocol' | 'url' | 'model'>): string {
  return sha256Hex(`${endpoint.protocol}\u0000${endpoint.url}\u0000${endpoint.model ?? ''}`);
}
