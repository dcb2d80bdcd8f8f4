/**
 * One HTTP attempt: POST a JSON body, classify what happened.
 *
 * The per-attempt timeout and the caller's signal are joined by hand (one
 * AbortController per attempt, a cleared timer, a removed listener) rather than with
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 `AbortSignal.any`
 * leaks every composite into a long-lived source signal (nodejs/node#54614, #55351 —
 * measured here: ~60 bytes and one retained entry per call), and a Temporal activity's
 * cancellation signal lives for the whole shard, millions of calls. AbortSignal.timeout
 * would also leave one live timer per call for the full timeout after it finished.
 * For the same reason the caller's signal is never handed to fetch itself.
 */
import { onAbort } from './cancellation';
import { classifyStatus, parseRetryAfter } from './retryPolicy';
import type { CallErrorClass } from './types';

export type Dispatcher = NonNullable<RequestInit['dispatcher']>;

export type AttemptOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; class: CallErrorClass; message: string; status?: number; retryAfterMs?: number };

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

const MAX_ERROR_TEXT = 200;
/** Larger declared answers are refused unread: no model answer evalgate expects comes near. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

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

/** URLs in error text may carry credentials or keys. */
const withoutUrls = (text: string) => text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');

/**
 * What a thrown fetch means. undici reports a failed connection as
 * `TypeError('fetch failed')` with the reason in `cause` (ECONNREFUSED,
 * UND_ERR_SOCKET, ...): retryable. Anything else was thrown before sending (a URL
 * that does not parse or that holds credentials): retrying cannot help.
 */
function thrownOutcome(err: unknown): AttemptOutcome {
  const { message, cause } = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (message === 'fetch failed') {
    const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : 'unknown';
    return { ok: false, class: 'network', message: `connection failed: ${withoutUrls(reason)}` };
  }
  return { ok: false, class: 'client_error', message: `the request could not be sent: ${withoutUrls(String(message ?? err))}` };
}

export async function postJson(request: AttemptRequest): Promise<AttemptOutcome> {
  const { signal } = request;
  if (signal?.aborted) return { ok: false, class: 'cancelled', message: 'cancelled by the caller' };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, request.timeoutMs);
  const unsubscribe = onAbort(signal, () => controller.abort());
  try {
    const init: RequestInit = { method: 'POST', headers: request.headers, body: request.body, signal: controller.signal, redirect: 'manual' };
    if (request.dispatcher) init.dispatcher = request.dispatcher;
    const response = await fetch(request.url, init);
    const declaredLength = Number(response.headers.get('content-length') ?? 0);
    if (declaredLength > MAX_RESPONSE_BYTES) {
      controller.abort();
      return { ok: false, class: 'bad_response', status: response.status, message: `HTTP ${response.status} with a ${declaredLength}-byte body, over the ${MAX_RESPONSE_BYTES}-byte limit` };
    }
    // Read the body in full either way: an unread body pins its connection.
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) {
      try {
        return { ok: true, status: response.status, body: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, class: 'bad_response', status: response.status, message: `HTTP ${response.status} with a body that is not JSON` };
      }
    }
    if (response.status >= 300 && response.status < 400) {
      return { ok: false, class: 'client_error', status: response.status, message: `HTTP ${response.status}: redirects are not followed` };
    }
    const outcome: AttemptOutcome = {
      ok: false,
      class: classifyStatus(response.status),
      status: response.status,
      message: `HTTP ${response.status}${text ? `: ${errorText(text)}` : ''}`,
    };
    const retryAfterMs = parseRetryAfter(response.headers);
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
    return outcome;
  } catch (err) {
    if (signal?.aborted) return { ok: false, class: 'cancelled', message: 'cancelled by the caller' };
    if (timedOut) return { ok: false, class: 'timeout', message: `no complete answer within ${request.timeoutMs} ms` };
    return thrownOutcome(err);
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
