import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let admin: ApiClient;
let team: string;
let editor: ApiClient & { principalId: string };

const rows = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => ({
    id: `r${i + offset}`,
    input: `message ${i + offset}`,
    label: i % 3 === 0 ? 'spam' : 'ham',
    tags: [i % 2 ? 'odd' : 'even'],
  }));

async function newDataset(taskType = 'classification', by: ApiClient = editor) {
  const res = await by.post('/v1/datasets', { name: unique('ds'), taskType, ownerTeam: team });
  expect(res.status).toBe(201);
  return res.body.datasetId as string;
}

async function leftovers(datasetId: string) {
  const { rows: versions } = await stack.pool.query('SELECT 1 FROM dataset_versions WHERE dataset_id = $1', [
    datasetId,
  ]);
  const objects = await stack.storage.list(`datasets/${datasetId}/`);
  return { versions: versions.length, objects: objects.length };
}

beforeAll(async () => {
  stack = await startTestStack({
    EVALGATE_ROWS_PER_SHARD: '4',
    EVALGATE_MAX_ROW_BYTES: '2048',
    EVALGATE_MAX_UPLOAD_BYTES: '20000',
  });
  admin = client(stack.baseUrl, stack.adminToken);
  team = unique('team');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
});
afterAll(() => stack.close());

describe('dataset versions', () => {
  it('content-addresses a version: the same rows uploaded twice give one version', async () => {
    const datasetId = await newDataset();
    const first = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, rows(10));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ version: 1, rowCount: 10 });
    expect(first.body.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const again = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, rows(10));
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(1);
    expect(again.body.contentHash).toBe(first.body.contentHash);
    const shards = await stack.pool.query(
      'SELECT count(*)::int AS n FROM dataset_shards s JOIN dataset_versions v USING (dataset_version_id) WHERE v.dataset_id = $1',
      [datasetId],
    );
    expect(shards.rows[0].n).toBe(3); // 10 rows at 4 per shard
    expect(await stack.storage.list(`datasets/${datasetId}/`)).toHaveLength(3); // the duplicate upload left no objects
  });

  it('hashes canonical rows, so key order does not make a new version', async () => {
    const datasetId = await newDataset();
    const a = await editor.ndjson(
      `/v1/datasets/${datasetId}/versions?labelPolicy=synthetic`,
      '{"id":"a","input":"x","label":"ham"}\n',
    );
    const b = await editor.ndjson(
      `/v1/datasets/${datasetId}/versions?labelPolicy=synthetic`,
      '{"label":"ham","input":"x","id":"a"}',
    );
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.contentHash).toBe(a.body.contentHash);
  });

  it('numbers new content monotonically, and concurrent uploads cannot both take a number', async () => {
    const datasetId = await newDataset();
    const results = await Promise.all(
      [0, 1, 2, 3].map((k) => editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=mixed`, rows(5, k * 100))),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(results.map((r) => r.body.version).sort()).toEqual([1, 2, 3, 4]);
  });

  it('pages through rows with a cursor', async () => {
    const datasetId = await newDataset();
    await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, rows(10));
    const page1 = await editor.get(`/v1/datasets/${datasetId}/versions/1/rows?limit=6`);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((r: { id: string }) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    const page2 = await editor.get(`/v1/datasets/${datasetId}/versions/1/rows?limit=6&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((r: { id: string }) => r.id)).toEqual(['r6', 'r7', 'r8', 'r9']);
    expect(page2.body.nextCursor).toBeNull();
  });

  it('records the principal on the version and in the audit log', async () => {
    const datasetId = await newDataset();
    await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=implicit`, rows(3));
    const { rows: audit } = await stack.pool.query(
      `SELECT a.principal_id FROM audit_log a JOIN dataset_versions v ON a.entity_id = v.dataset_version_id::text
        WHERE v.dataset_id = $1 AND a.action = 'dataset_version.create'`,
      [datasetId],
    );
    expect(audit).toEqual([{ principal_id: editor.principalId }]);
    await expect(
      stack.pool.query('DELETE FROM audit_log WHERE principal_id = $1', [editor.principalId]),
    ).rejects.toThrow(/append-only/);
  });
});

describe('bad uploads get a 4xx naming the line and leave nothing behind', () => {
  // Nine valid rows come first (three shards of four were being written) so a failure must clean up.
  const valid =
    rows(9)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n';
  const good = '{"id":"a","input":"x","label":"ham"}';
  const cases: [string, string, number, string, RegExp][] = [
    ['malformed JSON', `${valid}${good}\n{"id":"b", oops}\n`, 400, 'rows[10]', /^line 11 is not valid JSON/],
    ['a missing field', `${valid}{"id":"b","input":"y"}\n`, 400, 'rows[9].label', /^line 10: label: /],
    [
      'a wrong-typed field',
      `${valid}{"id":"a","input":"x","label":"ham","tags":"spam"}\n`,
      400,
      'rows[9].tags',
      /^line 10: tags: /,
    ],
    [
      'a duplicate id',
      `${valid}${good}\n{"id":"a","input":"y","label":"spam"}\n`,
      400,
      'rows[10].id',
      /^line 11: duplicate row id "a"/,
    ],
    ['an empty upload', '\n\n', 400, 'body', /no rows/],
    [
      'an upload over the total size limit',
      valid +
        Array.from({ length: 30 }, (_, i) =>
          JSON.stringify({ id: `big${i}`, input: 'y'.repeat(1000), label: 'ham' }),
        ).join('\n') +
        '\n',
      413,
      'body',
      /larger than the limit of 20000 bytes/,
    ],
    [
      'a row over the size limit',
      `${valid}{"id":"b","input":"${'x'.repeat(3000)}","label":"ham"}\n`,
      413,
      'rows[9]',
      /^line 10 is longer than the row limit/,
    ],
  ];
  it.each(cases)('refuses %s', async (_name, body, status, field, message) => {
    const datasetId = await newDataset();
    const res = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, body);
    expect(res.status).toBe(status);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toMatch(message);
    expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
    expect(await leftovers(datasetId)).toEqual({ versions: 0, objects: 0 });
  });

  it('refuses an unknown label policy with the field named', async () => {
    const datasetId = await newDataset();
    const res = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=vibes`, rows(2));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'labelPolicy' });
  });

  it('checks ranking rows against the ranking shape', async () => {
    const datasetId = await newDataset('ranking');
    const res = await editor.ndjson(`/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed`, [
      { id: 'q1', query: 'x', relevance: { d1: 'high' } },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('rows[0].relevance.d1');
  });
});

describe('dataset records', () => {
  it('refuses an unknown task type and names with path separators or control characters', async () => {
    const unknownType = await editor.post('/v1/datasets', {
      name: unique('x'),
      taskType: 'astrology',
      ownerTeam: team,
    });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error.field).toBe('taskType');
    for (const name of ['../etc', 'a/b', 'a\\b', 'bell\u0007']) {
      const res = await editor.post('/v1/datasets', { name, taskType: 'classification', ownerTeam: team });
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('name');
    }
  });

  it('needs a key (401) and the editor role on the owning team (403)', async () => {
    const anonymous = await client(stack.baseUrl).post('/v1/datasets', {
      name: unique('x'),
      taskType: 'classification',
      ownerTeam: team,
    });
    expect(anonymous.status).toBe(401);
    const badKey = await client(stack.baseUrl, 'egk_nope').get('/v1/principals/me');
    expect(badKey.status).toBe(401);
    const viewer = await principal(stack, 'viewer', [{ team, roles: ['viewer'] }]);
    const res = await viewer.post('/v1/datasets', { name: unique('x'), taskType: 'classification', ownerTeam: team });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('answers 404 for an unknown id and a 400 for a malformed one', async () => {
    expect((await editor.get('/v1/datasets/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const malformed = await editor.get('/v1/datasets/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.field).toBe('datasetId');
  });
});

describe('restricted versions', () => {
  it('serves rows only to allowed teams, hides the version from outsiders, and tells the owning team 403', async () => {
    const allowedTeam = unique('fraud');
    const datasetId = await newDataset();
    const up = await editor.ndjson(
      `/v1/datasets/${datasetId}/versions?labelPolicy=human_reviewed&visibility=restricted&teams=${allowedTeam}&classification=restricted`,
      rows(3),
    );
    expect(up.status).toBe(201);
    expect(up.body.teams).toEqual([allowedTeam]);

    const allowed = await principal(stack, 'fraud-analyst', [{ team: allowedTeam, roles: ['viewer'] }]);
    const outsider = await principal(stack, 'outsider', [{ team: unique('other'), roles: ['editor'] }]);
    const rowsPath = `/v1/datasets/${datasetId}/versions/1/rows`;

    const ok = await allowed.get(rowsPath);
    expect(ok.status).toBe(200);
    expect(ok.body.items).toHaveLength(3);

    const ownerButNotAllowed = await editor.get(rowsPath);
    expect(ownerButNotAllowed.status).toBe(403);
    expect((await editor.get(`/v1/datasets/${datasetId}/versions/1`)).status).toBe(200);

    expect((await outsider.get(rowsPath)).status).toBe(404);
    expect((await outsider.get(`/v1/datasets/${datasetId}/versions/1`)).status).toBe(404);
    const listed = await outsider.get(`/v1/datasets/${datasetId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.versions).toEqual([]);

    expect((await admin.get(rowsPath)).status).toBe(200);
  });
});
