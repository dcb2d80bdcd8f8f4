import type { Queryable } from '../../common/db';

export interface RateDecision {
  admitted: boolean;
  /** When refused: whole seconds until one more request would be admitted (at least 1). */
  retryAfterSeconds: number;
}

/**
 * Takes one request from a principal's allowance, shared by every API process: GCRA over the row's theoretical
 * arrival time (tat), in one statement under the row's lock. `intervalMs` is the time one request costs
 * (window / limit); a request is admitted when tat + interval - now stays within `windowMs`, so up to `limit`
 * requests may come at once and then one per interval. A refused request does not move tat.
 */
export async function takeRequest(
  q: Queryable,
  principalId: string,
  intervalMs: number,
  windowMs: number,
): Promise<RateDecision> {
  const { rows } = await q.query<{ refused: boolean; retry_ms: number }>(
    `INSERT INTO principal_rate_limits AS r (principal_id, tat, refused)
     VALUES ($1, now() + $2 * interval '1 millisecond', false)
     ON CONFLICT (principal_id) DO UPDATE SET
       tat = CASE WHEN greatest(r.tat, now()) + $2 * interval '1 millisecond' <= now() + $3 * interval '1 millisecond'
                  THEN greatest(r.tat, now()) + $2 * interval '1 millisecond' ELSE r.tat END,
       refused = greatest(r.tat, now()) + $2 * interval '1 millisecond' > now() + $3 * interval '1 millisecond'
     RETURNING refused,
       extract(epoch FROM (tat + $2 * interval '1 millisecond' - $3 * interval '1 millisecond' - now())) * 1000
         AS retry_ms`,
    [principalId, intervalMs, windowMs],
  );
  const { refused, retry_ms } = rows[0];
  return { admitted: !refused, retryAfterSeconds: refused ? Math.max(1, Math.ceil(Number(retry_ms) / 1000)) : 0 };
}
