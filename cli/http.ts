/**
 * The CLI's API client. Every way a call can go wrong becomes one clear line and an exit
 * code: a network error, a 5xx or a timeout is exit 2 (never a pass); a 4xx carries the
 * API's code, message and field for the command to decide on.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface Api {
  readonly baseUrl: string;
  get<T = any>(path: string, timeoutMs?: number): Promise<T>;
  post<T = any>(path: string, body: unknown, timeoutMs?: number): Promise<{ status: number; body: T }>;
  put<T = any>(path: string, body: unknown, timeoutMs?: number): Promise<{ status: number; body: T }>;
  /** Streams JSON lines (a dataset version) without holding them: the body is read as it is sent. */
  postNdjson<T = any>(path: string, body: Readable, timeoutMs?: number): Promise<{ status: number; body: T }>;
}

/** `?a=1&b=x` from the defined entries only. */
export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '') as [string, string][];
  return entries.length
    ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : '';
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createApi(baseUrl: string, token: string): Api {
  const base = baseUrl.replace(/\/+$/, '');
  const unreachable = (err: unknown, timeoutMs: number) => {
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return new CliFailure(`the API at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s`, 2);
    return new CliFailure(
      `cannot reach the API at ${base}: ${e.cause?.code ?? e.code ?? e.cause?.message ?? e.message}`,
      2,
    );
  };

  /** A response as the CLI sees it: 5xx or a non-API answer is exit 2; a 4xx is the API's refusal. */
  function interpret(status: number, statusText: string, text: string) {
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 500 || (status >= 400 && !parsed?.error)) {
      const detail = parsed?.error ? `${parsed.error.code}: ${parsed.error.message}` : text.slice(0, 200) || statusText;
      throw new CliFailure(`the API answered ${status} (${detail})`, 2);
    }
    if (status >= 400) throw new ApiRefusal(status, parsed.error.code, parsed.error.message, parsed.error.field);
    return { status, body: parsed };
  }

  async function call(method: string, path: string, body: unknown, timeoutMs: number) {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unreachable(err, timeoutMs);
    }
    return interpret(res.status, res.statusText, await res.text());
  }

  /**
   * A streamed upload over node:http with backpressure: the file is read only as fast as
   * the socket drains. (fetch with a stream body keeps every chunk it sent — undici tees
   * the body so it could replay it — so its memory grows with the file.)
   */
  async function stream(path: string, body: Readable, timeoutMs: number) {
    const url = new URL(`${base}${path}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    // The API may answer (a refusal of a bad line) before the body is sent: the answer wins.
    const sent = pipeline(body, req).catch((err: unknown) => err);
    let res: IncomingMessage;
    try {
      res = await answered;
    } catch (err) {
      throw unreachable(err, timeoutMs);
    } finally {
      void sent;
    }
    body.destroy();
    let text = '';
    for await (const chunk of res) text += chunk;
    return interpret(res.statusCode ?? 0, res.statusMessage ?? '', text);
  }

  return {
    baseUrl: base,
    get: async (path, timeoutMs = DEFAULT_TIMEOUT_MS) => (await call('GET', path, undefined, timeoutMs)).body,
    post: (path, body, timeoutMs = DEFAULT_TIMEOUT_MS) => call('POST', path, body, timeoutMs),
    put: (path, body, timeoutMs = DEFAULT_TIMEOUT_MS) => call('PUT', path, body, timeoutMs),
    postNdjson: (path, body, timeoutMs = 3_600_000) => stream(path, body, timeoutMs),
  };
}
