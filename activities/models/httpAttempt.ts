/**
 * One HTTP attempt: POST a JSON body, classify what happened.
 *
 * Transport: node:http / node:https with keep-alive Agents, not the global fetch.
 * On Node 20, fetch (undici behind WHATWG streams) costs ~370 µs of CPU per small
 * request, ~400 µs with the AbortSignal a timeout needs; node:http costs ~90 µs
 * (bench/model-client.ts, measured on the same machine). At thousands of calls per
 * second per worker, fetch alone would use every core. The `undici` package, whose
 * own `request` is as cheap, is not a dependency.
 *
 * Connection pool: one keep-alive Agent per scheme for the process (shared, like the
 * endpoint limiters), unlimited sockets per host — the endpoint semaphore is what
 * bounds them — LIFO reuse so idle sockets age out, and idle sockets closed before the
 * server's announced `Keep-Alive: timeout` (Node 20's Agent honours the hint when an
 * agent timeout is set), so a request rarely meets a socket the server just closed.
 *
 * Timeout and cancellation destroy the request: one timer per attempt, cleared, and
 * one subscription to the caller's signal (see cancellation.ts). Not
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 `AbortSignal.any`
 * leaks every composite into a long-lived source signal (nodejs/node#54614, #55351;
 * measured here: one retained entry and ~60 bytes per call), and a shard's signal lives
 * for millions of calls; AbortSignal.timeout would also keep a timer alive per call for
 * the full timeout.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { onAbort } from './cancellation';
import { classifyStatus, parseRetryAfter } from '../../domain/models/retryPolicy';
import type { CallErrorClass } from '../../domain/models/types';

export type AttemptOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; class: CallErrorClass; message: string; status?: number; retryAfterMs?: number };

export interface HttpAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
  agents?: HttpAgents;
  /** Resolves the host of each new connection (not of each request: keep-alive sockets are reused). */
  lookup?: LookupFunction;
}

/** The code of a lookup error that is the egress policy's refusal, not the network's failure. */
export const EGRESS_REFUSED = 'EVALGATE_EGRESS_REFUSED';

/** Larger answers are refused: no model answer evalgate expects comes near. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_TEXT = 200;

export function createHttpAgents(): HttpAgents {
  // `timeout` is the idle limit of a pooled socket; a server's Keep-Alive hint lowers it.
  const options = {
    keepAlive: true,
    maxSockets: Infinity,
    maxFreeSockets: 1024,
    scheduling: 'lifo' as const,
    timeout: 30_000,
  };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

/** The process-wide connection pools. */
export const processHttpAgents: HttpAgents = createHttpAgents();

interface Target {
  https: boolean;
  hostname: string;
  port: string;
  path: string;
}

const targets = new Map<string, Target | string>();

/** A parsed URL (cached: endpoints are few), or why it cannot be used. */
function target(url: string): Target | string {
  let parsed = targets.get(url);
  if (parsed !== undefined) return parsed;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') parsed = `unsupported scheme ${u.protocol}`;
    else if (u.username || u.password)
      parsed = 'endpoint URLs may not hold credentials (they would end up in lineage); use headersFor';
    else
      parsed = {
        https: u.protocol === 'https:',
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
      };
  } catch {
    parsed = 'the endpoint URL does not parse';
  }
  if (targets.size >= 1024) targets.clear();
  targets.set(url, parsed);
  return parsed;
}

/** The server's own error message if it sent one (OpenAI shape or plain text), shortened. */
function errorText(text: string): string {
  let message = text;
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const candidate = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (typeof candidate === 'string') message = candidate;
  } catch {
    // not JSON: the text itself
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT)}…` : message;
}

function decode(body: Buffer, encoding: string | undefined): string {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return body.toString('utf8');
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body).toString('utf8');
    case 'deflate':
      return inflateSync(body).toString('utf8');
    case 'br':
      return brotliDecompressSync(body).toString('utf8');
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
}

const headerGetter = (headers: IncomingHttpHeaders) => ({
  get: (name: string): string | null => {
    const value = headers[name];
    return value === undefined ? null : Array.isArray(value) ? value[0] : value;
  },
});

/** A complete answer, classified. */
function outcomeOf(response: IncomingMessage, raw: Buffer): AttemptOutcome {
  const status = response.statusCode ?? 0;
  let text: string;
  try {
    text = decode(raw, response.headers['content-encoding']);
  } catch (err) {
    return {
      ok: false,
      class: 'bad_response',
      status,
      message: `HTTP ${status} with an undecodable body: ${(err as Error).message}`,
    };
  }
  if (status >= 200 && status < 300) {
    try {
      return { ok: true, status, body: JSON.parse(text) as unknown };
    } catch {
      return { ok: false, class: 'bad_response', status, message: `HTTP ${status} with a body that is not JSON` };
    }
  }
  if (status >= 300 && status < 400)
    return { ok: false, class: 'client_error', status, message: `HTTP ${status}: redirects are not followed` };
  const outcome: AttemptOutcome = {
    ok: false,
    class: classifyStatus(status),
    status,
    message: `HTTP ${status}${text ? `: ${errorText(text)}` : ''}`,
  };
  const retryAfterMs = parseRetryAfter(headerGetter(response.headers));
  if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  return outcome;
}

export function postJson(request: AttemptRequest): Promise<AttemptOutcome> {
  const { signal } = request;
  if (signal?.aborted) return Promise.resolve({ ok: false, class: 'cancelled', message: 'cancelled by the caller' });
  const where = target(request.url);
  if (typeof where === 'string') return Promise.resolve({ ok: false, class: 'client_error', message: where });
  const agents = request.agents ?? processHttpAgents;

  return new Promise<AttemptOutcome>((resolve) => {
    let req: ClientRequest | undefined;
    let ended: 'timeout' | 'cancelled' | 'too_large' | undefined;
    let settled = false;
    let responded = false;
    const timer = setTimeout(() => {
      ended = 'timeout';
      req?.destroy();
    }, request.timeoutMs);
    const unsubscribe = onAbort(signal, () => {
      ended = 'cancelled';
      req?.destroy();
    });
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(outcome);
    };
    /** Any way the exchange ended without a complete answer; `ended` says if it was us. */
    const failed = (err: NodeJS.ErrnoException) => {
      if (ended === 'cancelled') return settle({ ok: false, class: 'cancelled', message: 'cancelled by the caller' });
      if (ended === 'timeout')
        return settle({ ok: false, class: 'timeout', message: `no complete answer within ${request.timeoutMs} ms` });
      if (err.code === EGRESS_REFUSED)
        return settle({ ok: false, class: 'endpoint_not_allowed', message: err.message });
      settle({ ok: false, class: 'network', message: `connection failed: ${err.code ?? err.message}` });
    };
    const onResponse = (response: IncomingMessage) => {
      responded = true;
      const chunks: Buffer[] = [];
      let size = 0;
      const tooLarge = (bytes: number) => {
        if (bytes <= MAX_RESPONSE_BYTES) return false;
        ended = 'too_large';
        const status = response.statusCode;
        settle({
          ok: false,
          class: 'bad_response',
          status,
          message: `HTTP ${status} with an answer over the ${MAX_RESPONSE_BYTES}-byte limit`,
        });
        req?.destroy();
        return true;
      };
      if (tooLarge(Number(response.headers['content-length'] ?? 0))) return;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (!tooLarge(size)) chunks.push(chunk);
      });
      response.on('end', () =>
        settle(outcomeOf(response, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))),
      );
      response.on('error', failed);
      response.on('close', () => {
        if (!response.complete) failed(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' }));
      });
    };

    try {
      const send = where.https ? httpsRequest : httpRequest;
      req = send(
        {
          hostname: where.hostname,
          port: where.port,
          path: where.path,
          method: 'POST',
          agent: where.https ? agents.https : agents.http,
          lookup: request.lookup,
          headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
        },
        onResponse,
      );
    } catch (err) {
      // Thrown before sending, e.g. a header value with control characters.
      return settle({
        ok: false,
        class: 'client_error',
        message: `the request could not be sent: ${(err as Error).message}`,
      });
    }
    req.on('error', failed);
    // Destroyed before any answer (timeout, cancel) may end with 'close' alone.
    req.on('close', () => {
      if (!responded) failed(new Error('closed'));
    });
    req.end(request.body);
  });
}
