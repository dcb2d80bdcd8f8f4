import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import { sha256Hex } from '../../../common/canonical';
import { isUniqueViolation, withTransaction } from '../../../common/db';
import { badRequest, conflict, forbidden, notFound } from '../../../common/errors';
import { LruCache } from '../../../common/lruCache';
import { hasRole, type Principal } from '../../http/context';
import type { Role } from '../../../domain/principals/roles';
import * as dal from '../../../domain/principals/dal';

export interface NewPrincipal {
  name: string;
  teams: { team: string; roles: Role[] }[];
}

/** How long an unknown key is remembered as unknown: long enough to absorb a burst, short enough that a new key works at once. */
const NEGATIVE_TTL_MS = 1_000;

export interface KeyCacheOptions {
  /** Keys resolved in memory at most (LRU). */
  maxEntries: number;
  /** How long a resolved key is used without asking PostgreSQL: the staleness of a revocation made elsewhere. */
  ttlMs: number;
}

export interface ApiKeyView {
  keyId: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const keyView = (row: dal.ApiKeyRow): ApiKeyView => ({
  keyId: row.key_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

const newApiKey = () => `egk_${randomBytes(32).toString('base64url')}`;

export class PrincipalService {
  /**
   * Key hash -> principal (null: no such key), so every request is not a join. Bounded in size, so random
   * bearer tokens cannot grow it; an entry never outlives its key's expiry, and a revocation through this
   * process drops it at once (through another process: within `ttlMs`).
   */
  private readonly cache: LruCache<Principal | null>;
  /** Bumped by every revocation: a lookup that began before one does not cache what it read. */
  private revocations = 0;

  constructor(
    private readonly pool: Pool,
    private readonly keyCache: KeyCacheOptions = { maxEntries: 10_000, ttlMs: 5_000 },
  ) {
    this.cache = new LruCache(keyCache.maxEntries);
  }

  /** Keys (and unknown tokens) this process holds resolved. */
  get cachedKeyCount(): number {
    return this.cache.size;
  }

  static hashKey(apiKey: string): string {
    return sha256Hex(`evalgate-api-key:${apiKey}`);
  }

  async authenticate(apiKey: string): Promise<Principal | null> {
    const keyHash = PrincipalService.hashKey(apiKey);
    const hit = this.cache.get(keyHash);
    if (hit !== undefined) return hit;
    const revocations = this.revocations;
    const row = await dal.findPrincipalByKeyHash(this.pool, keyHash);
    const principal = row ? await this.load(row) : null;
    const ttl = row
      ? Math.min(this.keyCache.ttlMs, row.expires_at ? row.expires_at.getTime() - Date.now() : Infinity)
      : Math.min(this.keyCache.ttlMs, NEGATIVE_TTL_MS);
    if (revocations === this.revocations) this.cache.set(keyHash, principal, ttl);
    return principal;
  }

  async create(
    input: NewPrincipal,
    createdBy: string | null,
    requestId?: string,
  ): Promise<{ principalId: string; keyId: string; apiKey: string }> {
    const apiKey = newApiKey();
    try {
      return await withTransaction(this.pool, async (tx) => {
        const principal = await dal.insertPrincipal(tx, input.name, createdBy);
        const roles = input.teams.flatMap((t) => t.roles.map((role) => ({ team: t.team, role })));
        await dal.ensureTeams(
          tx,
          input.teams.map((t) => t.team),
        );
        await dal.insertRoles(tx, principal.principal_id, roles);
        const keyId = await dal.insertApiKey(tx, {
          principalId: principal.principal_id,
          keyHash: PrincipalService.hashKey(apiKey),
          createdBy,
        });
        await recordAudit(tx, {
          principalId: createdBy,
          action: 'principal.create',
          entityKind: 'principal',
          entityId: principal.principal_id,
          detail: { name: input.name, roles, keyId },
          requestId,
        });
        return { principalId: principal.principal_id, keyId, apiKey };
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict('already_exists', `a principal named ${input.name} already exists`, 'name');
      throw err;
    }
  }

  /**
   * Makes sure the bootstrap token is an admin key on every team, and that no earlier bootstrap token still
   * works (setting a new one rotates). Idempotent. `principalName` lets each test stack have its own admin, so
   * stacks sharing a database do not rotate each other's tokens out.
   */
  async ensureBootstrapAdmin(token: string, principalName = 'bootstrap-admin'): Promise<void> {
    const keyHash = PrincipalService.hashKey(token);
    const revoked = await withTransaction(this.pool, async (tx) => {
      let principal = await dal.findPrincipalByName(tx, principalName);
      if (!principal) {
        principal = await dal.insertPrincipal(tx, principalName, null);
        await recordAudit(tx, {
          principalId: null,
          action: 'principal.bootstrap',
          entityKind: 'principal',
          entityId: principal.principal_id,
        });
      }
      await dal.insertRoles(tx, principal.principal_id, [{ team: '*', role: 'admin' }]);
      const hashes = await dal.rotateBootstrapKey(tx, principal.principal_id, keyHash);
      if (hashes.length)
        await recordAudit(tx, {
          principalId: null,
          action: 'api_key.bootstrap_rotate',
          entityKind: 'principal',
          entityId: principal.principal_id,
          detail: { revoked: hashes.length },
        });
      return hashes;
    }).catch(async (err): Promise<string[]> => {
      // Two processes bootstrapping at once: the loser finds the winner's rows.
      if (!isUniqueViolation(err)) throw err;
      await this.ensureBootstrapAdmin(token, principalName);
      return [];
    });
    this.forget([...revoked, keyHash]);
  }

  /** A new key for a principal: by the principal itself or a global admin. The key is shown once. */
  async issueKey(
    principalId: string,
    input: { expiresAt?: Date },
    caller: Principal,
    requestId?: string,
  ): Promise<{ keyId: string; apiKey: string; expiresAt: Date | null }> {
    this.mayManageKeysOf(caller, principalId);
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now())
      throw badRequest('expiresAt: must be in the future', 'expiresAt');
    const apiKey = newApiKey();
    return withTransaction(this.pool, async (tx) => {
      if (!(await dal.findPrincipalById(tx, principalId))) throw notFound(`principal ${principalId}`);
      const keyId = await dal.insertApiKey(tx, {
        principalId,
        keyHash: PrincipalService.hashKey(apiKey),
        expiresAt: input.expiresAt,
        createdBy: caller.principalId,
      });
      await recordAudit(tx, {
        principalId: caller.principalId,
        action: 'api_key.issue',
        entityKind: 'api_key',
        entityId: keyId,
        detail: { principalId, expiresAt: input.expiresAt?.toISOString() ?? null },
        requestId,
      });
      return { keyId, apiKey, expiresAt: input.expiresAt ?? null };
    });
  }

  async listKeys(principalId: string, caller: Principal): Promise<ApiKeyView[]> {
    this.mayManageKeysOf(caller, principalId);
    if (!(await dal.findPrincipalById(this.pool, principalId))) throw notFound(`principal ${principalId}`);
    return (await dal.listApiKeys(this.pool, principalId)).map(keyView);
  }

  /**
   * Revokes a key at once: this process forgets it before answering; other API processes within their key
   * cache's TTL. A key the caller may not manage is not found (key ids are not for others to probe).
   */
  async revokeKey(keyId: string, caller: Principal, requestId?: string): Promise<ApiKeyView> {
    const key = await dal.findApiKey(this.pool, keyId);
    if (!key || !this.canManageKeysOf(caller, key.principal_id)) throw notFound(`key ${keyId}`);
    this.cache.delete(key.key_hash);
    const row = await withTransaction(this.pool, async (tx) => {
      if (await dal.revokeApiKey(tx, keyId))
        await recordAudit(tx, {
          principalId: caller.principalId,
          action: 'api_key.revoke',
          entityKind: 'api_key',
          entityId: keyId,
          detail: { principalId: key.principal_id },
          requestId,
        });
      return (await dal.findApiKey(tx, keyId))!;
    });
    this.forget([key.key_hash]); // and whatever a lookup running meanwhile cached
    return keyView(row);
  }

  /** Drops revoked keys from the cache; lookups still running will not cache what they read. */
  private forget(keyHashes: string[]): void {
    this.revocations += 1;
    for (const hash of keyHashes) this.cache.delete(hash);
  }

  private canManageKeysOf(caller: Principal, principalId: string): boolean {
    return caller.principalId === principalId || hasRole(caller, '*', 'admin');
  }

  private mayManageKeysOf(caller: Principal, principalId: string): void {
    if (!this.canManageKeysOf(caller, principalId))
      throw forbidden("only the principal itself or an admin of every team may manage a principal's keys");
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
