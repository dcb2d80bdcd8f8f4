import type { Queryable } from '../../common/db';
import type { Role } from './roles';

export interface PrincipalRow {
  principal_id: string;
  name: string;
}
export interface RoleRow {
  team: string;
  role: Role;
}

export interface KeyPrincipalRow extends PrincipalRow {
  key_id: string;
  expires_at: Date | null;
}

/** The principal of a key that is neither revoked nor expired. */
export async function findPrincipalByKeyHash(q: Queryable, keyHash: string): Promise<KeyPrincipalRow | undefined> {
  const { rows } = await q.query<KeyPrincipalRow>(
    `SELECT p.principal_id, p.name, k.key_id, k.expires_at FROM api_keys k JOIN principals p USING (principal_id)
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
    [keyHash],
  );
  return rows[0];
}

export async function findPrincipalById(q: Queryable, principalId: string): Promise<PrincipalRow | undefined> {
  const { rows } = await q.query<PrincipalRow>('SELECT principal_id, name FROM principals WHERE principal_id = $1', [
    principalId,
  ]);
  return rows[0];
}

export async function findPrincipalByName(q: Queryable, name: string): Promise<PrincipalRow | undefined> {
  const { rows } = await q.query<PrincipalRow>('SELECT principal_id, name FROM principals WHERE name = $1', [name]);
  return rows[0];
}

export async function listRoles(q: Queryable, principalId: string): Promise<RoleRow[]> {
  const { rows } = await q.query<RoleRow>(
    'SELECT team, role FROM principal_roles WHERE principal_id = $1 ORDER BY team, role',
    [principalId],
  );
  return rows;
}

export async function insertPrincipal(q: Queryable, name: string, createdBy: string | null): Promise<PrincipalRow> {
  const { rows } = await q.query<PrincipalRow>(
    'INSERT INTO principals (name, created_by) VALUES ($1, $2) RETURNING principal_id, name',
    [name, createdBy],
  );
  return rows[0];
}

export async function ensureTeams(q: Queryable, teams: string[]): Promise<void> {
  if (teams.length) await q.query('INSERT INTO teams (team) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [teams]);
}

export async function insertRoles(q: Queryable, principalId: string, roles: RoleRow[]): Promise<void> {
  await q.query(
    `INSERT INTO principal_roles (principal_id, team, role)
     SELECT $1, t, r FROM unnest($2::text[], $3::text[]) AS x(t, r) ON CONFLICT DO NOTHING`,
    [principalId, roles.map((r) => r.team), roles.map((r) => r.role)],
  );
}

export interface NewApiKey {
  principalId: string;
  keyHash: string;
  expiresAt?: Date | null;
  createdBy?: string | null;
  bootstrap?: boolean;
}

export interface ApiKeyRow {
  key_id: string;
  principal_id: string;
  key_hash: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  bootstrap: boolean;
}

/** Stores a key by its hash only. */
export async function insertApiKey(q: Queryable, key: NewApiKey): Promise<string> {
  const { rows } = await q.query<{ key_id: string }>(
    `INSERT INTO api_keys (principal_id, key_hash, expires_at, created_by, bootstrap)
     VALUES ($1, $2, $3, $4, $5) RETURNING key_id`,
    [key.principalId, key.keyHash, key.expiresAt ?? null, key.createdBy ?? null, key.bootstrap ?? false],
  );
  return rows[0].key_id;
}

/**
 * The bootstrap key of `keyHash`, made (again) valid, and every other bootstrap key of the principal revoked:
 * setting a new EVALGATE_BOOTSTRAP_TOKEN rotates the old one out. Returns the hashes it revoked.
 */
export async function rotateBootstrapKey(q: Queryable, principalId: string, keyHash: string): Promise<string[]> {
  await q.query(
    `INSERT INTO api_keys (principal_id, key_hash, bootstrap) VALUES ($1, $2, true)
     ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, expires_at = NULL
      WHERE api_keys.principal_id = EXCLUDED.principal_id`,
    [principalId, keyHash],
  );
  const { rows } = await q.query<{ key_hash: string }>(
    `UPDATE api_keys SET revoked_at = now()
      WHERE principal_id = $1 AND bootstrap AND key_hash <> $2 AND revoked_at IS NULL RETURNING key_hash`,
    [principalId, keyHash],
  );
  return rows.map((r) => r.key_hash);
}

export async function findApiKey(q: Queryable, keyId: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await q.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_id = $1', [keyId]);
  return rows[0];
}

export async function listApiKeys(q: Queryable, principalId: string): Promise<ApiKeyRow[]> {
  const { rows } = await q.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE principal_id = $1 ORDER BY created_at, key_id',
    [principalId],
  );
  return rows;
}

/** Revokes a key now; returns its hash, or undefined when it was already revoked. */
export async function revokeApiKey(q: Queryable, keyId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ key_hash: string }>(
    'UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL RETURNING key_hash',
    [keyId],
  );
  return rows[0]?.key_hash;
}
