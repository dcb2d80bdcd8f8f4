/**
 * Data access of fleet endpoint leases (schema 100): each worker's share of an endpoint's declared limits.
 * A grant locks the endpoint's row, drops expired leases, and decides this worker's share from the others'
 * (domain/fleet/share.ts) in one transaction, so grants made by different workers are serialised and
 * the sum of unexpired grants never passes the limit. Times are PostgreSQL's own clock.
 */
import type { Pool } from 'pg';
import { withTransaction, type Queryable } from '../../common/db';
import { decideShare, type FleetLease, type ShareDecision, type ShareRequest } from './share';

interface LeaseRow {
  worker_id: string;
  declared_concurrency: number;
  declared_rps: number;
  demand_concurrency: number;
  demand_rps: number;
  concurrency: number;
  rps: number;
}

const LEASE_COLUMNS = 'worker_id, declared_concurrency, declared_rps, demand_concurrency, demand_rps, concurrency, rps';

function leaseOf(row: LeaseRow): FleetLease {
  return {
    workerId: row.worker_id,
    declaredConcurrency: row.declared_concurrency,
    declaredRps: row.declared_rps,
    demandConcurrency: row.demand_concurrency,
    demandRps: row.demand_rps,
    concurrency: row.concurrency,
    rps: row.rps,
  };
}

export interface ClaimShare extends ShareRequest {
  endpointKey: string;
  label: string;
  /** The lease lasts this long from the transaction's start unless renewed. */
  leaseMs: number;
  /** Rotates who gets the permits an even split leaves over (see fairShares). */
  rotation?: number;
}

/**
 * Renews (or takes) this worker's lease on the endpoint and gives its share. A lease that grants nothing and
 * is asked for nothing is deleted: an idle worker holds no row.
 */
export async function claimShare(pool: Pool, claim: ClaimShare): Promise<ShareDecision> {
  return withTransaction(pool, async (tx) => {
    await tx.query('INSERT INTO endpoint_fleet (endpoint_key, label) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      claim.endpointKey,
      claim.label,
    ]);
    await tx.query('SELECT 1 FROM endpoint_fleet WHERE endpoint_key = $1 FOR UPDATE', [claim.endpointKey]);
    // This endpoint's expired leases, and any left a minute past expiry by workers that died (on endpoints
    // nobody claims any more): an expired lease counts for nothing, so deleting one is always safe.
    await tx.query(
      `DELETE FROM endpoint_leases
        WHERE (endpoint_key = $1 AND expires_at <= now()) OR expires_at <= now() - interval '1 minute'`,
      [claim.endpointKey],
    );
    const { rows } = await tx.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM endpoint_leases WHERE endpoint_key = $1`, [
      claim.endpointKey,
    ]);
    const leases = rows.map(leaseOf);
    const own = leases.find((lease) => lease.workerId === claim.workerId);
    const others = leases.filter((lease) => lease.workerId !== claim.workerId);
    const decision = decideShare(others, own, claim, claim.rotation);
    if (decision.concurrency === 0 && decision.recordedRps === 0 && claim.demandConcurrency === 0) {
      await tx.query('DELETE FROM endpoint_leases WHERE endpoint_key = $1 AND worker_id = $2', [
        claim.endpointKey,
        claim.workerId,
      ]);
      return decision;
    }
    await tx.query(
      `INSERT INTO endpoint_leases (endpoint_key, worker_id, declared_concurrency, declared_rps, demand_concurrency,
         demand_rps, concurrency, rps, renewed_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now() + $9 * interval '1 millisecond')
       ON CONFLICT (endpoint_key, worker_id) DO UPDATE SET
         declared_concurrency = EXCLUDED.declared_concurrency, declared_rps = EXCLUDED.declared_rps,
         demand_concurrency = EXCLUDED.demand_concurrency, demand_rps = EXCLUDED.demand_rps,
         concurrency = EXCLUDED.concurrency, rps = EXCLUDED.rps,
         renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at`,
      [
        claim.endpointKey,
        claim.workerId,
        claim.declaredConcurrency,
        claim.declaredRps,
        claim.demandConcurrency,
        claim.demandRps,
        decision.concurrency,
        decision.recordedRps,
        claim.leaseMs,
      ],
    );
    return decision;
  });
}

/** Gives back every lease of the worker (it is stopping), or those on the given endpoints. */
export async function releaseShares(q: Queryable, workerId: string, endpointKeys?: string[]): Promise<void> {
  if (endpointKeys)
    await q.query('DELETE FROM endpoint_leases WHERE worker_id = $1 AND endpoint_key = ANY($2)', [
      workerId,
      endpointKeys,
    ]);
  else await q.query('DELETE FROM endpoint_leases WHERE worker_id = $1', [workerId]);
}

/** The unexpired leases on an endpoint (operators, tests). */
export async function liveLeases(q: Queryable, endpointKey: string): Promise<FleetLease[]> {
  const { rows } = await q.query<LeaseRow>(
    `SELECT ${LEASE_COLUMNS} FROM endpoint_leases WHERE endpoint_key = $1 AND expires_at > now() ORDER BY worker_id`,
    [endpointKey],
  );
  return rows.map(leaseOf);
}
