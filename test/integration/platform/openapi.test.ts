/**
 * GET /v1/openapi.json: an OpenAPI 3.1 document, served without a key, that lists every
 * route the Express app serves (found here by walking the router stack independently of
 * api/http/openapi.ts), with the request schemas the routes validate with.
 */
import { client, startTestStack, type TestStack } from '../../../testkit/stack';

let stack: TestStack;
let doc: any;

interface StackLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: StackLayer[] };
}

/** Every method and path of every route in the app, nested routers included. */
function expressRoutes(layers: StackLayer[]): string[] {
  return layers.flatMap((layer) => {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m] && m !== '_all');
      return paths.flatMap((p) => methods.map((m) => `${m.toUpperCase()} ${p.replace(/[:*](\w+)/g, '{$1}')}`));
    }
    return layer.handle?.stack ? expressRoutes(layer.handle.stack) : [];
  });
}

beforeAll(async () => {
  stack = await startTestStack();
  const res = await client(stack.baseUrl).get('/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => stack.close());

describe('GET /v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document served without a key, with bearer auth as the default', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ apiKey: [] }]);
  });

  it('lists every route Express serves, and nothing else', () => {
    const served = expressRoutes((stack.api.app as any).router.stack);
    expect(served.length).toBeGreaterThan(45);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect([...new Set(documented)].sort()).toEqual([...new Set(served)].sort());
    for (const route of ['GET /v1/eval-runs', 'GET /v1/eval-runs/{runId}/comparison/examples', 'GET /ui/{page}'])
      expect(documented).toContain(route);
  });

  it('marks the routes that need no key, and only those', () => {
    const open = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => [`${m} ${p}`, op.security] as const))
      .filter(([, security]) => Array.isArray(security) && security.length === 0)
      .map(([route]) => route)
      .sort();
    expect(open).toEqual(
      [
        'get /healthz',
        'get /readyz',
        'get /metrics',
        'get /v1/openapi.json',
        'get /ui/assets/console.js',
        'get /ui/assets/console.css',
        'get /ui',
        'get /ui/',
        'get /ui/{page}',
      ].sort(),
    );
  });

  it('describes path parameters, query parameters and bodies from the zod schemas', () => {
    const runs = doc.paths['/v1/eval-runs'];
    expect(runs.get.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'status', in: 'query', required: false }),
        expect.objectContaining({ name: 'cursor', in: 'query' }),
      ]),
    );
    const status = runs.get.parameters.find((p: any) => p.name === 'status');
    expect(status.schema.enum).toEqual(expect.arrayContaining(['running', 'succeeded', 'budget_exceeded']));
    expect(runs.post.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['modelVersion', 'datasetId', 'metricSuiteId']),
    });
    const detail = doc.paths['/v1/eval-runs/{runId}'].get;
    expect(detail.parameters).toEqual([
      expect.objectContaining({
        name: 'runId',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ format: 'uuid' }),
      }),
    ]);
    const gate = doc.paths['/v1/gates'].post.requestBody.content['application/json'].schema;
    expect(gate.required).toEqual(expect.arrayContaining(['name', 'ownerTeam', 'rules']));
    // Every path template's parameters are declared.
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>))
      for (const op of Object.values(ops)) {
        const names = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = (op.parameters ?? []).filter((x: any) => x.in === 'path').map((x: any) => x.name);
        expect([p, declared.sort()]).toEqual([p, names.sort()]);
      }
  });
});
