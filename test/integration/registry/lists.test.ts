/**
 * The registry's lists: datasets, metric suites and models by team and name (what
 * `evalgate plan` finds entries by), in creation order, paginated by an exact cursor.
 */
import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let team: string;
let editor: ApiClient & { principalId: string };

beforeAll(async () => {
  stack = await startTestStack();
  team = unique('lists');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
});
afterAll(() => stack.close());

const names = (page: { items: { name: string }[] }) => page.items.map((i) => i.name);

describe.each([
  ['datasets', { taskType: 'classification' }, 'datasetId'],
  ['metric-suites', { purpose: 'exploratory' }, 'metricSuiteId'],
  ['models', {}, 'modelId'],
] as const)('GET /v1/%s', (collection, extra, idField) => {
  const created: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const name = unique(`${collection}-${i}`);
      const res = await editor.post(`/v1/${collection}`, { name, ownerTeam: team, ...extra });
      expect(res.status).toBe(201);
      created.push(name);
    }
  });

  it("lists a team's records in creation order, a page at a time", async () => {
    const first = await editor.get(`/v1/${collection}?ownerTeam=${team}&limit=2`);
    expect(first.status).toBe(200);
    expect(names(first.body)).toEqual(created.slice(0, 2));
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await editor.get(`/v1/${collection}?ownerTeam=${team}&limit=2&cursor=${first.body.nextCursor}`);
    expect([names(second.body), second.body.nextCursor]).toEqual([created.slice(2), null]);
  });

  it('finds one by name (and nothing for a name no one used)', async () => {
    const found = await editor.get(`/v1/${collection}?ownerTeam=${team}&name=${created[1]}`);
    expect(found.body.items).toEqual([
      expect.objectContaining({ [idField]: expect.any(String), name: created[1], ownerTeam: team }),
    ]);
    const byName = await editor.get(`/v1/${collection}?name=${created[2]}`);
    expect(names(byName.body)).toEqual([created[2]]);
    expect((await editor.get(`/v1/${collection}?name=${unique('nobody')}`)).body).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('refuses a cursor it did not hand out, and a caller without a key', async () => {
    const bad = await editor.get(`/v1/${collection}?cursor=yesterday`);
    expect([bad.status, bad.body.error.code, bad.body.error.field]).toEqual([400, 'invalid_request', 'cursor']);
    expect((await client(stack.baseUrl).get(`/v1/${collection}`)).status).toBe(401);
  });
});
