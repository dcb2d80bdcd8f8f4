import { client, principal, startTestStack, unique, type ApiClient, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let team: string;
let editor: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  team = unique('team');
  editor = await principal(stack, 'editor', [{ team, roles: ['editor'] }]);
});
afterAll(() => stack.close());

async function newSuite(purpose = 'exploratory') {
  return (await editor.post('/v1/metric-suites', { name: unique('suite'), purpose, ownerTeam: team })).body
    .metricSuiteId as string;
}

async function newModel() {
  return (await editor.post('/v1/models', { name: unique('model'), ownerTeam: team })).body.modelId as string;
}

describe('metric suite versions', () => {
  const bad: [string, unknown[], string, RegExp][] = [
    [
      'an unknown metric id',
      [
        { name: 'a', metric: 'accuracy' },
        { name: 'b', metric: 'vibes' },
      ],
      'metrics[1].metric',
      /unknown metric id "vibes"/,
    ],
    [
      'params the implementation refuses',
      [{ name: 'n', metric: 'ndcg', params: { k: -3 } }],
      'metrics[0].params.k',
      /./,
    ],
    [
      'metrics of different task types',
      [
        { name: 'acc', metric: 'accuracy' },
        { name: 'n', metric: 'ndcg', params: { k: 5 } },
      ],
      'metrics[1].metric',
      /does not fit the task type/,
    ],
    [
      'judge_score without a judge',
      [{ name: 'j', metric: 'judge_score' }],
      'metrics[0].metric',
      /needs the suite to configure a judge/,
    ],
    [
      'the same name twice',
      [
        { name: 'a', metric: 'accuracy' },
        { name: 'a', metric: 'f1' },
      ],
      'metrics[1].name',
      /used twice/,
    ],
    [
      'an unknown implementation version',
      [{ name: 'a', metric: 'recall', implVersion: '7.7.7' }],
      'metrics[0].implVersion',
      /no implementation version 7.7.7/,
    ],
  ];
  it.each(bad)('refuses %s with the field named', async (_name, metrics, field, message) => {
    const suiteId = await newSuite();
    const res = await editor.post(`/v1/metric-suites/${suiteId}/versions`, { metrics });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field });
    expect(res.body.error.message).toMatch(message);
    const { rows } = await stack.pool.query(
      'SELECT count(*)::int AS n FROM metric_suite_versions WHERE metric_suite_id = $1',
      [suiteId],
    );
    expect(rows[0].n).toBe(0);
  });

  it('pins implementation versions, numbers new content and answers identical content with the same version', async () => {
    const suiteId = await newSuite();
    const v1 = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: [{ name: 'acc', metric: 'accuracy' }],
    });
    expect(v1.status).toBe(201);
    expect(v1.body.version).toBe(1);
    expect(v1.body.metrics[0].implVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const same = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: [{ name: 'acc', metric: 'accuracy' }],
    });
    expect(same.status).toBe(200);
    expect(same.body.version).toBe(1);
    const buggy = await editor.post(`/v1/metric-suites/${suiteId}/versions`, {
      metrics: [
        { name: 'acc', metric: 'accuracy' },
        { name: 'rec', metric: 'recall', implVersion: '0.9.0', params: { average: 'binary', positiveLabel: 'spam' } },
      ],
    });
    expect(buggy.status).toBe(201);
    expect(buggy.body.version).toBe(2);
    expect(buggy.body.metrics[1].implVersion).toBe('0.9.0');
  });
});

describe('models, versions and aliases', () => {
  it('refuses an endpoint URL that is not http(s)', async () => {
    const modelId = await newModel();
    for (const url of [
      'ftp://example.com/model',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'not a url',
      'http://user:pw@host/x',
    ]) {
      const res = await editor.post(`/v1/models/${modelId}/versions`, { endpoint: { protocol: 'json-predict', url } });
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('endpoint.url');
    }
  });

  it('keeps versions immutable: the same definition answers 200, a different one 409', async () => {
    const modelId = await newModel();
    const body = {
      version: 'v1',
      endpoint: { protocol: 'json-predict', url: 'http://127.0.0.1:9/predict' },
      pricing: { perCallUsd: 0.01 },
    };
    const created = await editor.post(`/v1/models/${modelId}/versions`, body);
    expect(created.status).toBe(201);
    expect(created.body.modelVersion).toMatch(/@v1$/);
    expect((await editor.post(`/v1/models/${modelId}/versions`, body)).status).toBe(200);
    const changed = await editor.post(`/v1/models/${modelId}/versions`, { ...body, pricing: { perCallUsd: 0.02 } });
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatchObject({ code: 'already_exists', field: 'version' });
  });

  it('numbers unnamed versions and keeps the history of every alias move', async () => {
    const modelId = await newModel();
    const endpoint = { protocol: 'openai-chat', url: 'http://127.0.0.1:9/v1', model: 'm' };
    const a = (await editor.post(`/v1/models/${modelId}/versions`, { endpoint })).body.modelVersion;
    const b = (await editor.post(`/v1/models/${modelId}/versions`, { endpoint, params: { temperature: 0 } })).body
      .modelVersion;
    expect([a.split('@')[1], b.split('@')[1]]).toEqual(['1', '2']);
    await editor.put(`/v1/models/${modelId}/aliases/production`, { modelVersion: a });
    const moved = await editor.put(`/v1/models/${modelId}/aliases/production`, { modelVersion: b });
    expect(moved.status).toBe(200);
    expect(
      moved.body.history.map((h: { version: string; previous: string | null }) => [h.version, h.previous]),
    ).toEqual([
      ['1', null],
      ['2', '1'],
    ]);
    const wrong = await editor.put(`/v1/models/${modelId}/aliases/production`, { modelVersion: 'someone-else@1' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('modelVersion');
    const model = await editor.get(`/v1/models/${modelId}`);
    expect(model.body.aliases.production).toBe(b);
  });
});

describe('operability', () => {
  it('answers /healthz, /readyz with each dependency, and /metrics in Prometheus format', async () => {
    const anon = client(stack.baseUrl);
    expect((await anon.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await anon.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ postgres: 'ok', temporal: 'ok', objectStorage: 'ok' });
    const metrics = await fetch(`${stack.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(
      /evalgate_http_requests_total\{route="\/v1\/metric-suites",method="POST",status="\d{3}"\} \d+/,
    );
    expect(metrics).toMatch(/evalgate_http_request_duration_seconds_bucket/);
  });

  it('gives every error the stable shape with the request id it also sends as a header', async () => {
    const unknown = await editor.get('/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'not_found', requestId: unknown.headers.get('x-request-id') });
    const malformed = await fetch(`${stack.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${stack.adminToken}`,
        'content-type': 'application/json',
        'x-request-id': 'ci-run-12345678',
      },
      body: '{"name": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: { code: 'invalid_request', message: 'request body is not valid JSON', requestId: 'ci-run-12345678' },
    });
    const unknownField = await editor.post('/v1/datasets', {
      name: unique('x'),
      taskType: 'classification',
      ownerTeam: team,
      colour: 'red',
    });
    expect(unknownField.status).toBe(400);
  });

  it('lets only admins create principals', async () => {
    const res = await editor.post('/v1/principals', { name: unique('p'), teams: [{ team, roles: ['admin'] }] });
    expect(res.status).toBe(403);
    const me = await editor.get('/v1/principals/me');
    expect(me.body.teams).toEqual([{ team, roles: ['editor'] }]);
  });
});
