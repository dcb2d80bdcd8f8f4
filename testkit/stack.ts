/**
 * The harness of integration tests and in-process benches: the real PostgreSQL, MinIO and Temporal dev server started by
 * `npm run stack -- up --services-only`, and the API served in-process on a free port.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { createApp, type App } from '../api/app';
import { listen } from '../api/http/listen';
import { configFrom, type Config } from '../common/config';
import { parseEndpointAllow } from '../common/endpointAllow';
import type { Resolver } from '../common/resolver';
import { createPool } from '../common/db';
import { createLogger, type Logger } from '../common/logger';
import { createStorage, type Storage } from '../common/storage';
import { migrate } from '../schema/migrate';

export interface TestStack {
  config: Config;
  pool: Pool;
  storage: Storage;
  temporal: Client;
  connection: Connection;
  logger: Logger;
  api: App;
  baseUrl: string;
  adminToken: string;
  /** The name resolution the API (and workers built on this stack) use for the egress policy, when a test injects one. */
  resolver?: Resolver;
  close(): Promise<void>;
}

/** The ports the OS picks for `listen(0)` (Linux: ip_local_port_range), where tests' model servers land. */
function ephemeralPorts(): string {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    if (Number(lo) > 0 && Number(hi) >= Number(lo)) return `${lo}-${hi}`;
  } catch {
    // not Linux
  }
  return '32768-65535';
}

/**
 * EVALGATE_ENDPOINT_ALLOW for the test stack: the caller's entries (environment, then overrides) plus what its own
 * loopback servers need — model servers on ephemeral ports, and the discard port 9 that tests register for an endpoint
 * that never answers. It adds; it never drops the caller's. The platform's own ports stay refused regardless.
 */
export function testStackAllowText(...caller: (string | undefined)[]): string {
  return [...caller, `127.0.0.1:${ephemeralPorts()}`, '127.0.0.1:9'].filter(Boolean).join(',');
}

function testStackAllow(...caller: (string | undefined)[]): Config['EVALGATE_ENDPOINT_ALLOW'] {
  const parsed = parseEndpointAllow(testStackAllowText(...caller));
  if ('error' in parsed) throw new Error(`EVALGATE_ENDPOINT_ALLOW: ${parsed.error}`);
  return Object.freeze(parsed.entries);
}

export async function startTestStack(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: { resolver?: Resolver } = {},
): Promise<TestStack> {
  const adminToken = `test-admin-${randomBytes(12).toString('hex')}`;
  const { EVALGATE_ENDPOINT_ALLOW: allow, ...rest } = overrides;
  // Overrides go through the config schema as the environment does (a duration like `10s` becomes its seconds).
  const config = {
    // Tests read /metrics right after acting; a test of the scrape cache sets its own.
    ...configFrom({
      EVALGATE_LOG_LEVEL: process.env.EVALGATE_LOG_LEVEL ?? 'silent',
      EVALGATE_METRICS_CACHE_MS: '0',
      ...rest,
    }),
    EVALGATE_ENDPOINT_ALLOW: testStackAllow(process.env.EVALGATE_ENDPOINT_ALLOW, allow),
  } as Config;
  const logger = createLogger(config, 'evalgate-test');
  const pool = createPool(config, logger);
  await migrate(pool);
  const storage = createStorage(config);
  await storage.ensureBucket();
  const connection = await Connection.connect({ address: config.EVALGATE_TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.EVALGATE_TEMPORAL_NAMESPACE });
  const { resolver } = options;
  const api = createApp({ config, pool, storage, temporal, logger, resolver });
  // Its own admin principal: stacks sharing a database would otherwise rotate each other's bootstrap token out.
  await api.services.principals.ensureBootstrapAdmin(adminToken, `test-admin-${randomBytes(6).toString('hex')}`);
  const server: Server = await listen(api.app, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    config,
    pool,
    storage,
    temporal,
    connection,
    logger,
    api,
    baseUrl,
    adminToken,
    resolver,
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close();
      await pool.end();
    },
  };
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A tiny client for the API under test: JSON in and out, bearer auth. */
export function client(baseUrl: string, token?: string) {
  const call = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpResult<T>> => {
    const init: RequestInit = {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        init.body = body as string;
      } else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      call<T>('POST', path, body ?? {}, headers),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body ?? {}),
    ndjson: <T = any>(path: string, rows: unknown[] | string) =>
      call<T>('POST', path, typeof rows === 'string' ? rows : rows.map((r) => JSON.stringify(r)).join('\n') + '\n', {
        'content-type': 'application/x-ndjson',
      }),
  };
}

export type ApiClient = ReturnType<typeof client>;

/** A unique suffix so tests never collide with each other or with earlier runs. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Creates a principal with the given team roles and returns a client authenticated as it. */
export async function principal(
  stack: TestStack,
  name: string,
  teams: { team: string; roles: string[] }[],
): Promise<ApiClient & { principalId: string; apiKey: string }> {
  const admin = client(stack.baseUrl, stack.adminToken);
  const res = await admin.post('/v1/principals', { name: unique(name), teams });
  if (res.status !== 201) throw new Error(`creating principal failed: ${res.status} ${JSON.stringify(res.body)}`);
  return Object.assign(client(stack.baseUrl, res.body.apiKey), {
    principalId: res.body.principalId as string,
    apiKey: res.body.apiKey as string,
  });
}
