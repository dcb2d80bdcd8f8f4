/**
 * GET /v1/openapi.json: the OpenAPI 3.1 document of every route this Express app serves,
 * made by walking the app's router stack. Paths and methods come from the routes
 * themselves, request schemas from the zod schemas `validated()` leaves on each handler
 * (z.toJSONSchema), so the document cannot list a route that does not exist or miss one
 * that does (docs/decisions/openapi.md).
 */
import type { Express } from 'express';
import { z } from 'zod';
import { schemasOf } from './validate';

export interface ServedRoute {
  method: string;
  /** The Express path, e.g. /v1/eval-runs/:runId */
  path: string;
  handlers: unknown[];
  /** Mounted before authentication: no API key needed. */
  public: boolean;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle?: { stack?: Layer[] };
  slash?: boolean;
  name?: string;
}

/**
 * Every route of the app, in the order Express matches them. Routers must be mounted at
 * the root (app.use(router)), as api/app.ts does: a prefix would not be in the route's path.
 */
export function servedRoutes(app: Express, publicRouters: readonly unknown[] = []): ServedRoute[] {
  const routes: ServedRoute[] = [];
  const walk = (stack: Layer[], isPublic: boolean) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths)
          for (const [method, on] of Object.entries(layer.route.methods))
            if (on && method !== '_all')
              routes.push({ method, path, handlers: layer.route.stack.map((l) => l.handle), public: isPublic });
      } else if (layer.handle?.stack) {
        if (!layer.slash) throw new Error(`a router mounted below the root (${layer.name ?? '?'}) is not described`);
        walk(layer.handle.stack, isPublic || publicRouters.includes(layer.handle));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, false);
  return routes;
}

/** /v1/eval-runs/:runId → /v1/eval-runs/{runId} */
export const openApiPath = (expressPath: string): string => expressPath.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

function jsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable snake_case code' },
        message: { type: 'string' },
        field: { type: 'string', description: 'JSON path of the field at fault' },
        requestId: { type: 'string' },
      },
    },
  },
};

function operation(route: ServedRoute) {
  const schemas = route.handlers.map(schemasOf).find((s) => s !== undefined);
  const pathNames = [...route.path.matchAll(/[:*]([A-Za-z0-9_]+)/g)].map((m) => m[1]);
  const paramsSchema = schemas?.params ? jsonSchema(schemas.params) : undefined;
  const querySchema = schemas?.query ? jsonSchema(schemas.query) : undefined;
  const parameters = [
    ...pathNames.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: paramsSchema?.properties?.[name] ?? { type: 'string' },
    })),
    ...Object.entries(querySchema?.properties ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: querySchema?.required?.includes(name) ?? false,
      schema,
    })),
  ];
  const withBody = ['post', 'put', 'patch'].includes(route.method);
  return {
    operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase())}`,
    ...(route.public ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(withBody && schemas?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(schemas.body) } } } }
      : {}),
    responses: {
      '2XX': { description: 'success; the body is JSON unless the path says otherwise' },
      default: { description: 'an error', content: { 'application/json': { schema: errorSchema } } },
    },
  };
}

export function openApiDocument(routes: ServedRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] ??= operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'evalgate',
      version,
      description: 'Evaluation platform: datasets, metric suites, eval runs, comparisons, release gates, lineage.',
    },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an evalgate API key' } } },
    security: [{ apiKey: [] }],
    paths,
  };
}
