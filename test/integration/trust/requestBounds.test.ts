/**
 * Input that must be refused with a 4xx, never a 500: cursors this API did not hand out, JSON nested deeper
 * than the limit, and any body at all from a caller without a valid key (refused before it is parsed).
 */
import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let team: string;
let editor: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  team = unique('bounds');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
});
afterAll(() => stack.close());

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('malformed cursors', () => {
  it.each([
    ['gates: a date and no gate id', `/v1/gates?cursor=${b64('2020-01-01T00:00:00Z|not-a-uuid')}`],
    [
      'gates: a date Postgres does not read',
      `/v1/gates?cursor=${b64(`1|${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)}`,
    ],
    ['incidents: a date Postgres does not read', `/v1/incidents?cursor=${b64(JSON.stringify(['1', '0'.repeat(36)]))}`],
    ['datasets: not a cursor at all', '/v1/datasets?cursor=%00%ff'],
    ['runs: not a cursor at all', '/v1/eval-runs?cursor=yesterday'],
  ])('%s → 400 invalid_request naming the cursor', async (_case, path) => {
    const res = await editor.get(path);
    expect([res.status, res.body.error?.code, res.body.error?.field]).toEqual([400, 'invalid_request', 'cursor']);
  });
});

describe('deeply nested JSON', () => {
  it('refuses a body nested deeper than 32 levels with 400 invalid_request', async () => {
    const model = await editor.post('/v1/models', { name: unique('model'), ownerTeam: team });
    expect(model.status).toBe(201);
    for (const depth of [33, 5_000, 200_000]) {
      const body = `{"endpoint":{"protocol":"json-predict","url":"http://127.0.0.1:9"},"params":{"x":${nested(depth)}}}`;
      const res = await editor.post(`/v1/models/${model.body.modelId}/versions`, body, {
        'content-type': 'application/json',
      });
      expect([depth, res.status, res.body.error?.code]).toEqual([depth, 400, 'invalid_request']);
      expect(res.body.error.message).toMatch(/nested deeper than 32/);
    }
  });

  it('still takes JSON nested to the limit', async () => {
    const model = await editor.post('/v1/models', { name: unique('model'), ownerTeam: team });
    // 32 levels in all: the body, params, then 30 arrays.
    const body = `{"endpoint":{"protocol":"json-predict","url":"http://127.0.0.1:9"},"params":{"x":${nested(30)}}}`;
    const res = await editor.post(`/v1/models/${model.body.modelId}/versions`, body, {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(201);
  });
});

describe('deeply nested dataset rows', () => {
  it('refuses a row nested deeper than 32 levels with 400 invalid_request naming the row', async () => {
    const dataset = await editor.post('/v1/datasets', {
      name: unique('deep'),
      taskType: 'regression',
      ownerTeam: team,
    });
    expect(dataset.status).toBe(201);
    const rows = [
      JSON.stringify({ id: 'ok', input: { a: 1 }, target: 1 }),
      `{"id":"deep","input":{"a":${nested(100_000)}},"target":2}`,
    ].join('\n');
    const res = await editor.ndjson(
      `/v1/datasets/${dataset.body.datasetId}/versions?labelPolicy=human_reviewed`,
      rows + '\n',
    );
    expect([res.status, res.body.error?.code, res.body.error?.field]).toEqual([400, 'invalid_request', 'rows[1]']);
    expect(res.body.error.message).toMatch(/nested deeper than 32/);
  });
});

describe('callers without a key', () => {
  it('are refused with 401 before their body is read', async () => {
    const anonymous = client(stack.baseUrl);
    // Not JSON and too large: a parsed body would answer 400 or 413; an unparsed one answers 401.
    const junk = await anonymous.post('/v1/metric-suites', '{"not json', { 'content-type': 'application/json' });
    expect([junk.status, junk.body.error.code]).toEqual([401, 'unauthenticated']);
    const large = await anonymous.post('/v1/metric-suites', `"${'x'.repeat(2_000_000)}"`, {
      'content-type': 'application/json',
    });
    expect([large.status, large.body.error.code]).toEqual([401, 'unauthenticated']);
    const wrongKey = client(stack.baseUrl, 'egk_not-a-key');
    const bad = await wrongKey.post('/v1/metric-suites', '{"not json', { 'content-type': 'application/json' });
    expect(bad.status).toBe(401);
  });
});
