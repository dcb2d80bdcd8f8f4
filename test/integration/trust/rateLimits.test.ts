/**
 * Per-principal rate limits (API.md "Trust"): over the limit → 429 `rate_limited` with `Retry-After`; the
 * allowance lives in PostgreSQL, so two API processes draw on the same one; other principals are unaffected.
 * These stacks set a low limit (30 a minute: a burst of 30, then one every 2 s); every other stack keeps the
 * default, far above what the suite sends.
 */
import { client, startTestStack, unique, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let other: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ EVALGATE_RATE_LIMIT_PER_MINUTE: '30' });
  other = await startTestStack({ EVALGATE_RATE_LIMIT_PER_MINUTE: '30' });
});
afterAll(async () => {
  await stack.close();
  await other.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rate limits', () => {
  it('admits a burst of the limit, then refuses with 429 rate_limited and Retry-After until it has passed', async () => {
    const aliceKey = await newKey('limited');
    const alice = client(stack.baseUrl, aliceKey);
    const bob = client(stack.baseUrl, await newKey('neighbour'));
    const answers = await Promise.all(Array.from({ length: 40 }, () => alice.get('/v1/principals/me')));
    const admitted = answers.filter((a) => a.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(30);
    expect(admitted).toBeLessThanOrEqual(31);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.error.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);

    // The allowance is in PostgreSQL: the other API process refuses alice too, and bob is not touched.
    const elsewhere = await client(other.baseUrl, aliceKey).get('/v1/principals/me');
    expect([elsewhere.status, elsewhere.headers.get('retry-after')]).toEqual([429, expect.stringMatching(/^[12]$/)]);
    expect((await bob.get('/v1/principals/me')).status).toBe(200);

    await sleep(2_000 + 200);
    expect((await alice.get('/v1/principals/me')).status).toBe(200);
  });
});

async function newKey(name: string): Promise<string> {
  const res = await client(stack.baseUrl, stack.adminToken).post('/v1/principals', {
    name: unique(name),
    teams: [{ team: 'rl-team', roles: ['viewer'] }],
  });
  expect(res.status).toBe(201);
  return res.body.apiKey as string;
}
