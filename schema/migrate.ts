/**
 * Ordered SQL migrations, each applied in its own transaction and recorded with a
 * checksum. An applied migration whose file changed, or one this code does not know,
 * stops start-up: the database and the code disagree about the schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { sha256Hex } from '../common/canonical';

const MIGRATIONS_DIR = join(__dirname, 'migrations');
const LOCK_ID = 727_274_001; // advisory lock: concurrent starters migrate one at a time

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: file.slice(0, 3), name: file, sql, checksum: sha256Hex(sql) };
    });
}

/** Applies pending migrations (mode 'apply') or only checks that none is pending or altered (mode 'verify'). */
export async function migrate(
  pool: Pool,
  mode: 'apply' | 'verify' = 'apply',
  migrations = loadMigrations(),
): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const applied of rows) {
      const m = known.get(applied.version);
      if (!m)
        throw new MigrationError(
          `database has migration ${applied.name} that this code does not know; deploy the matching code`,
        );
      if (m.checksum !== applied.checksum)
        throw new MigrationError(
          `migration ${applied.name} was edited after it was applied; add a new migration instead`,
        );
    }
    const appliedVersions = new Set(rows.map((r) => r.version));
    const pending = migrations.filter((m) => !appliedVersions.has(m.version));
    if (mode === 'verify') {
      if (pending.length)
        throw new MigrationError(`pending migrations: ${pending.map((m) => m.name).join(', ')}; run npm run migrate`);
      return [];
    }
    for (const m of pending) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
    }
    return pending.map((m) => m.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
}

if (require.main === module) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadConfig } = require('../common/config') as typeof import('../common/config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createPool } = require('../common/db') as typeof import('../common/db');
  const pool = createPool(loadConfig());
  migrate(pool)
    .then((applied) => {
      process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'schema is up to date\n');
      return pool.end();
    })
    .catch((err: Error) => {
      process.stderr.write(`evalgate migrate: ${err.message}\n`);
      process.exit(1);
    });
}
