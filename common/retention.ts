/**
 * How long stored outputs (per-example records, predictions, judge transcripts, cache
 * entries) live, by the classification of the dataset they came from. The defaults are the
 * brief's; EVALGATE_RETENTION_<CLASSIFICATION> overrides each (common/config.ts).
 */
import type { Config } from './config';

export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** Seconds a classification's outputs live. */
export type RetentionPolicy = Readonly<Record<Classification, number>>;

export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({
  public: 365 * 86_400,
  internal: 180 * 86_400,
  confidential: 90 * 86_400,
  restricted: 30 * 86_400,
});

/** The config variables of the policy: EVALGATE_RETENTION_<CLASSIFICATION>. */
export type RetentionVariable =
  | 'EVALGATE_RETENTION_PUBLIC'
  | 'EVALGATE_RETENTION_INTERNAL'
  | 'EVALGATE_RETENTION_CONFIDENTIAL'
  | 'EVALGATE_RETENTION_RESTRICTED';

export function retentionPolicy(config: Pick<Config, RetentionVariable>): RetentionPolicy {
  return Object.freeze({
    public: config.EVALGATE_RETENTION_PUBLIC,
    internal: config.EVALGATE_RETENTION_INTERNAL,
    confidential: config.EVALGATE_RETENTION_CONFIDENTIAL,
    restricted: config.EVALGATE_RETENTION_RESTRICTED,
  });
}

/** Seconds outputs of a classification live; an unknown classification gets the shortest (restricted). */
export function retentionSeconds(classification: string, policy: RetentionPolicy = DEFAULT_RETENTION): number {
  return (policy as Record<string, number>)[classification] ?? policy.restricted;
}

/** When outputs written now expire: `now + seconds` (a run's retention_seconds, fixed when it was created). */
export function expiryAfter(seconds: number, now = new Date()): Date {
  return new Date(now.getTime() + seconds * 1000);
}
