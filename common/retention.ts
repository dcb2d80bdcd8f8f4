/**
 * How long stored outputs (predictions, per-example scores, judge transcripts, cache
 * entries) live, by the classification of the dataset they came from.
 */
export const RETENTION_DAYS: Record<string, number> = {
  public: 365,
  internal: 180,
  confidential: 90,
  restricted: 30,
};

export function retentionExpiry(classification: string, now = new Date()): Date {
  const days = RETENTION_DAYS[classification] ?? RETENTION_DAYS.restricted;
  return new Date(now.getTime() + days * 86_400_000);
}
