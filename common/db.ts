import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { Config } from './config';
import type { Logger } from './logger';

/** Anything that can run a query: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * The process's pool. An idle connection the server ends (a restart, a failover, an
 * administrator's terminate) is dropped from the pool and logged; without a listener the
 * pool's 'error' event would end the process.
 */
export function createPool(
  config: Pick<Config, 'EVALGATE_DATABASE_URL' | 'EVALGATE_DB_POOL_MAX'>,
  logger?: Pick<Logger, 'warn'>,
): Pool {
  const pool = new Pool({ connectionString: config.EVALGATE_DATABASE_URL, max: config.EVALGATE_DB_POOL_MAX });
  pool.on('error', (err: Error & { code?: string }) =>
    logger?.warn({ err: err.message, code: err.code }, 'idle database connection lost; the pool will open another'),
  );
  return pool;
}

export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The readiness probe: one round trip to the database. */
export async function ping(q: Queryable): Promise<void> {
  await q.query('SELECT 1');
}

/** Postgres error codes we map to domain errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === PG_UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}
