import { z } from 'zod';

/**
 * Keyset pagination (`?limit=&cursor=` → `{ items, nextCursor }`): the cursor is the id of
 * the last record of the previous page, so a page never skips or repeats a record however
 * many share a timestamp.
 */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.uuid('must be a cursor returned by a previous page').optional(),
};

/** A page from `limit + 1` rows: the extra row only says there is a next page. */
export function pageOf<T>(
  rows: T[],
  limit: number,
  idOf: (row: T) => string,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? idOf(items[items.length - 1]) : null };
}

const keysetKey = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/**
 * The (created_at, id) pair of a keyset cursor, or null when the parts are not exactly an ISO timestamp and a
 * uuid: a cursor is client input, and whatever PostgreSQL would refuse to cast must be a 400, not a 500.
 */
export function keysetCursor(parts: unknown): { createdAt: string; id: string } | null {
  const parsed = keysetKey.safeParse(parts);
  return parsed.success ? { createdAt: parsed.data[0], id: parsed.data[1] } : null;
}
