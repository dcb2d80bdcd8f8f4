/**
 * GET /metrics answers the scrape token or a platform admin only, names no run and no suite,
 * and renders at most once per EVALGATE_METRICS_CACHE_MS however often it is scraped.
 */
import { client, principal, startTestStack, unique, type TestStack } from '../../../testkit/stack';

const TOKEN = `scrape-${unique('token')}`;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ EVALGATE_METRICS_TOKEN: TOKEN, EVALGATE_METRICS_CACHE_MS: '60000' });
});
afterAll(() => stack.close());

it('refuses anonymous scrapes (401) and principals other than platform admins (403)', async () => {
  expect((await client(stack.baseUrl).get('/metrics')).status).toBe(401);
  expect((await client(stack.baseUrl, 'not-a-key').get('/metrics')).status).toBe(401);
  const teamAdmin = await principal(stack, 'team-admin', [{ team: unique('ml'), roles: ['admin'] }]);
  const refused = await teamAdmin.get('/metrics');
  expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
});

it('answers the scrape token and a platform admin from one cached rendering', async () => {
  const first = await client(stack.baseUrl, TOKEN).get('/metrics');
  expect(first.status).toBe(200);
  expect(first.body).toMatch(/evalgate_http_requests_total/);
  const editor = await principal(stack, 'editor', [{ team: unique('ml'), roles: ['editor'] }]);
  const suiteName = unique('secret-suite');
  const created = await editor.post('/v1/metric-suites', {
    name: suiteName,
    purpose: 'exploratory',
    ownerTeam: 'ml-x',
  });
  expect([200, 201, 403]).toContain(created.status);
  const again = await client(stack.baseUrl, stack.adminToken).get('/metrics');
  expect(again.status).toBe(200);
  expect(again.body).toBe(first.body); // no new rendering: the requests since are not in it
  expect(again.body).not.toContain(suiteName);
  expect(again.body).not.toMatch(/run_id=|suite="/);
});
