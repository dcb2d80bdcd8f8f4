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
