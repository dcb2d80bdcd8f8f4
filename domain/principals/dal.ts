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

export async function findPrincipalByKeyHash(q: Queryable, keyHash: string): Promise<PrincipalRow | undefined> {
  const { rows } = await q.query<PrincipalRow>(
    `SELECT p.principal_id, p.name FROM api_keys k JOIN principals p USING (principal_id)
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [keyHash],
  );
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

export async function insertApiKey(
  q: Queryable,
  principalId: string,
  keyHash: string,
  keyPrefix: string,
): Promise<void> {
  await q.query(
    'INSERT INTO api_keys (principal_id, key_hash, key_prefix) VALUES ($1, $2, $3) ON CONFLICT (key_hash) DO NOTHING',
    [principalId, keyHash, keyPrefix],
  );
}
