/**
 * API keys (API.md "Trust"): a principal or a global admin issues keys, with an optional expiry; a revoked
 * or expired key stops working at once in the process that revoked it and within the key cache's TTL in
 * every other; the bootstrap token rotates; nothing of a key but its hash is stored; random bearer tokens
 * cannot grow the key cache past its bound.
 */
import { randomBytes } from 'node:crypto';
import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let other: TestStack;
let admin: ApiClient;
const OTHER_TTL_MS = 400;

beforeAll(async () => {
  stack = await startTestStack({ EVALGATE_KEY_CACHE_MAX: '50' });
  // A second API process over the same database, as a deployment runs several.
  other = await startTestStack({ EVALGATE_KEY_CACHE_TTL_MS: String(OTHER_TTL_MS) });
  admin = client(stack.baseUrl, stack.adminToken);
});
afterAll(async () => {
  await stack.close();
  await other.close();
});

const me = (baseUrl: string, key: string) => client(baseUrl, key).get('/v1/principals/me');
const revoke = (baseUrl: string, token: string, keyId: string) =>
  fetch(`${baseUrl}/v1/keys/${keyId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).then(
    async (res) => ({ status: res.status, body: (await res.json()) as any }),
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newPrincipal() {
  const res = await admin.post('/v1/principals', {
    name: unique('keys'),
    teams: [{ team: unique('t'), roles: ['viewer'] }],
  });
  expect(res.status).toBe(201);
  return res.body as { principalId: string; keyId: string; apiKey: string };
}

describe('issuing and revoking keys', () => {
  it('lets a principal rotate its own key: the new one works, the revoked one stops at once', async () => {
    const alice = await newPrincipal();
    expect((await me(stack.baseUrl, alice.apiKey)).status).toBe(200); // cached now
    const issued = await client(stack.baseUrl, alice.apiKey).post(`/v1/principals/${alice.principalId}/keys`, {});
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({ keyId: expect.any(String), apiKey: expect.stringMatching(/^egk_/), expiresAt: null });
    const fresh = await me(stack.baseUrl, issued.body.apiKey);
    expect([fresh.status, fresh.body.principalId]).toEqual([200, alice.principalId]);

    const revoked = await revoke(stack.baseUrl, issued.body.apiKey, alice.keyId);
    expect([revoked.status, revoked.body.keyId, typeof revoked.body.revokedAt]).toEqual([200, alice.keyId, 'string']);
    const after = await me(stack.baseUrl, alice.apiKey);
    expect([after.status, after.body.error.code]).toEqual([401, 'unauthenticated']);
    expect((await me(stack.baseUrl, issued.body.apiKey)).status).toBe(200);

    const listed = await client(stack.baseUrl, issued.body.apiKey).get(`/v1/principals/${alice.principalId}/keys`);
    expect(
      listed.body.items.map((k: { keyId: string; revokedAt: string | null }) => [k.keyId, k.revokedAt !== null]),
    ).toEqual([
      [alice.keyId, true],
      [issued.body.keyId, false],
    ]);
  });

  it("stops a revoked key in another API process within that process's key cache TTL", async () => {
    const bob = await newPrincipal();
    expect((await me(other.baseUrl, bob.apiKey)).status).toBe(200); // cached in the other process
    expect((await revoke(stack.baseUrl, stack.adminToken, bob.keyId)).status).toBe(200);
    await sleep(OTHER_TTL_MS + 100);
    expect((await me(other.baseUrl, bob.apiKey)).status).toBe(401);
  });

  it('stops an expired key when it expires, cached or not', async () => {
    const carol = await newPrincipal();
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const issued = await admin.post(`/v1/principals/${carol.principalId}/keys`, { expiresAt });
    expect([issued.status, issued.body.expiresAt]).toEqual([201, expiresAt]);
    expect((await me(stack.baseUrl, issued.body.apiKey)).status).toBe(200);
    await sleep(Date.parse(expiresAt) - Date.now() + 100);
    expect((await me(stack.baseUrl, issued.body.apiKey)).status).toBe(401);
    expect((await me(stack.baseUrl, carol.apiKey)).status).toBe(200);
  });

  it("refuses to manage another principal's keys without being a global admin", async () => {
    const dave = await newPrincipal();
    const eve = await newPrincipal();
    const asEve = client(stack.baseUrl, eve.apiKey);
    const issue = await asEve.post(`/v1/principals/${dave.principalId}/keys`, {});
    expect([issue.status, issue.body.error.code]).toEqual([403, 'forbidden']);
    expect((await asEve.get(`/v1/principals/${dave.principalId}/keys`)).status).toBe(403);
    const del = await revoke(stack.baseUrl, eve.apiKey, dave.keyId);
    expect([del.status, del.body.error.code]).toEqual([404, 'not_found']);
    expect((await me(stack.baseUrl, dave.apiKey)).status).toBe(200);
    // A team admin is not a global admin.
    const teamAdmin = await principal(stack, 'team-admin', [{ team: unique('t'), roles: ['admin'] }]);
    expect((await teamAdmin.post(`/v1/principals/${dave.principalId}/keys`, {})).status).toBe(403);
  });

  it.each([
    ['an expiry in the past', { expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    ['an expiry that is not a timestamp', { expiresAt: 'tomorrow' }, 'expiresAt'],
    ['an unknown field', { label: 'x' }, undefined],
  ])('refuses %s with 400 invalid_request', async (_case, body, field) => {
    const frank = await newPrincipal();
    const res = await admin.post(`/v1/principals/${frank.principalId}/keys`, body);
    expect([res.status, res.body.error.code, res.body.error.field]).toEqual([400, 'invalid_request', field]);
  });

  it('answers 404 for a principal or key that does not exist, 400 for ids that are not ids', async () => {
    const nobody = '00000000-0000-4000-8000-000000000000';
    expect((await admin.post(`/v1/principals/${nobody}/keys`, {})).status).toBe(404);
    expect((await revoke(stack.baseUrl, stack.adminToken, nobody)).status).toBe(404);
    expect((await revoke(stack.baseUrl, stack.adminToken, 'nope')).status).toBe(400);
  });
});

describe('the bootstrap token', () => {
  it('rotates: a new token revokes the previous one, and neither is stored in clear', async () => {
    const name = unique('bootstrap');
    const first = `first-${randomBytes(16).toString('hex')}`;
    const second = `second-${randomBytes(16).toString('hex')}`;
    await stack.api.services.principals.ensureBootstrapAdmin(first, name);
    expect((await me(stack.baseUrl, first)).status).toBe(200);
    await stack.api.services.principals.ensureBootstrapAdmin(first, name); // idempotent
    expect((await me(stack.baseUrl, first)).status).toBe(200);
    await stack.api.services.principals.ensureBootstrapAdmin(second, name);
    expect((await me(stack.baseUrl, first)).status).toBe(401);
    expect((await me(stack.baseUrl, second)).body.name).toBe(name);

    const { rows } = await stack.pool.query(
      `SELECT to_jsonb(k)::text AS row FROM api_keys k JOIN principals p USING (principal_id) WHERE p.name = $1`,
      [name],
    );
    expect(rows).toHaveLength(2);
    for (const { row } of rows) for (const token of [first, second]) expect(row).not.toContain(token.slice(0, 8));
  });
});

describe('the key cache', () => {
  it('stays within its bound however many unknown tokens arrive', async () => {
    for (let i = 0; i < 20; i++)
      await Promise.all(
        Array.from({ length: 25 }, () => me(stack.baseUrl, `egk_${randomBytes(24).toString('base64url')}`)),
      );
    expect(stack.api.services.principals.cachedKeyCount).toBeGreaterThan(0);
    expect(stack.api.services.principals.cachedKeyCount).toBeLessThanOrEqual(50);
    expect((await me(stack.baseUrl, stack.adminToken)).status).toBe(200);
  });
});
