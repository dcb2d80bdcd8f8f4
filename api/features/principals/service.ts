import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import { sha256Hex } from '../../../common/canonical';
import { isUniqueViolation, withTransaction } from '../../../common/db';
import { conflict } from '../../../common/errors';
import type { Principal } from '../../http/context';
import type { Role } from '../../../domain/principals/roles';
import * as dal from '../../../domain/principals/dal';

export interface NewPrincipal {
  name: string;
  teams: { team: string; roles: Role[] }[];
}

const KEY_CACHE_MS = 5_000;

export class PrincipalService {
  /** Short-lived cache of key hash -> principal, so every request is not a join. */
  private readonly cache = new Map<string, { principal: Principal | null; at: number }>();

  constructor(private readonly pool: Pool) {}

  static hashKey(apiKey: string): string {
    return sha256Hex(`evalgate-api-key:${apiKey}`);
  }

  async authenticate(apiKey: string): Promise<Principal | null> {
    const keyHash = PrincipalService.hashKey(apiKey);
    const hit = this.cache.get(keyHash);
    if (hit && Date.now() - hit.at < KEY_CACHE_MS) return hit.principal;
    const row = await dal.findPrincipalByKeyHash(this.pool, keyHash);
    const principal = row ? await this.load(row) : null;
    this.cache.set(keyHash, { principal, at: Date.now() });
    return principal;
  }

  async create(
    input: NewPrincipal,
    createdBy: string | null,
    requestId?: string,
  ): Promise<{ principalId: string; apiKey: string }> {
    const apiKey = `egk_${randomBytes(32).toString('base64url')}`;
    try {
      return await withTransaction(this.pool, async (tx) => {
        const principal = await dal.insertPrincipal(tx, input.name, createdBy);
        const roles = input.teams.flatMap((t) => t.roles.map((role) => ({ team: t.team, role })));
        await dal.ensureTeams(
          tx,
          input.teams.map((t) => t.team),
        );
        await dal.insertRoles(tx, principal.principal_id, roles);
        await dal.insertApiKey(tx, principal.principal_id, PrincipalService.hashKey(apiKey), apiKey.slice(0, 8));
        await recordAudit(tx, {
          principalId: createdBy,
          action: 'principal.create',
          entityKind: 'principal',
          entityId: principal.principal_id,
          detail: { name: input.name, roles },
          requestId,
        });
        return { principalId: principal.principal_id, apiKey };
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict('already_exists', `a principal named ${input.name} already exists`, 'name');
      throw err;
    }
  }

  /** Makes sure the bootstrap token is an admin key on every team. Idempotent. */
  async ensureBootstrapAdmin(token: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      let principal = await dal.findPrincipalByName(tx, 'bootstrap-admin');
      if (!principal) {
        principal = await dal.insertPrincipal(tx, 'bootstrap-admin', null);
        await recordAudit(tx, {
          principalId: null,
          action: 'principal.bootstrap',
          entityKind: 'principal',
          entityId: principal.principal_id,
        });
      }
      await dal.insertRoles(tx, principal.principal_id, [{ team: '*', role: 'admin' }]);
      await dal.insertApiKey(tx, principal.principal_id, PrincipalService.hashKey(token), token.slice(0, 8));
    }).catch(async (err) => {
      // Two processes bootstrapping at once: the loser finds the winner's rows.
      if (!isUniqueViolation(err)) throw err;
      await this.ensureBootstrapAdmin(token);
    });
  }

  async describe(principal: Principal) {
    return {
      principalId: principal.principalId,
      name: principal.name,
      teams: [...principal.roles.entries()].map(([team, roles]) => ({ team, roles: [...roles].sort() })),
    };
  }

  private async load(row: dal.PrincipalRow): Promise<Principal> {
    const roles = new Map<string, Set<Role>>();
    for (const r of await dal.listRoles(this.pool, row.principal_id)) {
      if (!roles.has(r.team)) roles.set(r.team, new Set());
      roles.get(r.team)!.add(r.role);
    }
    return { principalId: row.principal_id, name: row.name, roles };
  }
}
