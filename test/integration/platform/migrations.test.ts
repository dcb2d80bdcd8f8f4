import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { loadMigrations, migrate } from '../../../schema/migrate';

const ROOT = join(__dirname, '..', '..', '..');
const adminUrl = () => {
  const url = new URL(process.env.EVALGATE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/evalgate_test');
  url.pathname = '/postgres';
  return url;
};

describe('schema migrations', () => {
  const dbName = `evalgate_migtest_${process.pid}_${Date.now()}`;
  const admin = new Pool({ connectionString: adminUrl().toString() });
  // Dropping a database WITH (FORCE) ends its sessions: an idle pool connection must not end the suite.
  admin.on('error', () => undefined);
  let pool: Pool;
  let dir: string;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = adminUrl();
    url.pathname = `/${dbName}`;
    pool = new Pool({ connectionString: url.toString() });
    pool.on('error', () => undefined);
    dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    cpSync(join(ROOT, 'schema', 'migrations'), dir, { recursive: true });
  });
  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it('applies every migration once, in order, and records each with its checksum', async () => {
    const all = loadMigrations(dir);
    expect(await migrate(pool, 'apply', all)).toEqual(all.map((m) => m.name));
    expect(await migrate(pool, 'apply', all)).toEqual([]);
    const { rows } = await pool.query('SELECT name, checksum FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(all.map((m) => ({ name: m.name, checksum: m.checksum })));
  });

  it('refuses to start when an applied migration was edited', async () => {
    appendFileSync(join(dir, loadMigrations(dir)[0].name), '\n-- a later edit\n');
    await expect(migrate(pool, 'verify', loadMigrations(dir))).rejects.toThrow(/was edited after it was applied/);
  });

  it('refuses to start when the database has a migration this code does not know', async () => {
    await expect(
      migrate(pool, 'verify', loadMigrations(join(ROOT, 'schema', 'migrations')).slice(0, 1)),
    ).rejects.toThrow(/does not know/);
  });

  it('rolls back a failing migration whole and reports it', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'migrations-bad-'));
    writeFileSync(join(fresh, '001_ok.sql'), 'CREATE TABLE t_ok (id int);');
    writeFileSync(join(fresh, '002_bad.sql'), 'CREATE TABLE t_half (id int); SELECT no_such_function();');
    const url = adminUrl();
    const name = `${dbName}_b`;
    await admin.query(`CREATE DATABASE ${name}`);
    url.pathname = `/${name}`;
    const p = new Pool({ connectionString: url.toString() });
    p.on('error', () => undefined);
    try {
      await expect(migrate(p, 'apply', loadMigrations(fresh))).rejects.toThrow(/002_bad.sql failed/);
      const { rows } = await p.query("SELECT to_regclass('t_ok') AS ok, to_regclass('t_half') AS half");
      expect(rows[0]).toEqual({ ok: 't_ok', half: null });
    } finally {
      await p.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});

describe('configuration', () => {
  it('stops a process with one line naming a bad variable', async () => {
    const script = "require('./common/config').loadConfig(); console.log('started');";
    const run = promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, EVALGATE_S3_PORT: 'ninety' },
    });
    await expect(run).rejects.toMatchObject({
      code: 78,
      stderr: 'evalgate: invalid configuration: EVALGATE_S3_PORT: Invalid input: expected number, received NaN\n',
    });
  });
});
