/**
 * Which variant a unit gets: (experiment, unit) hashes to one of 10,000 buckets, and the
 * treatment holds the buckets below percent × 100. Growing the percent only adds buckets, so a
 * unit in treatment stays there as the ramp grows; a unit's bucket never depends on anything
 * but its id and the experiment's, so any process (or the caller's cache) answers alike.
 */
import { createHash } from 'node:crypto';

export const BUCKETS = 10_000;
export type Variant = 'control' | 'treatment';

export function bucketOf(experimentId: string, unit: string): number {
  const digest = createHash('sha256').update(experimentId).update('\u0000').update(unit).digest();
  return digest.readUInt32BE(0) % BUCKETS;
}

export function variantOf(experimentId: string, unit: string, percent: number): Variant {
  return bucketOf(experimentId, unit) < Math.round(percent * (BUCKETS / 100)) ? 'treatment' : 'control';
}
