/**
 * When and how long to wait before retrying a model call.
 *
 * Retried: 429 (`rate_limited`), 5xx (`server_error`), 408 and our own per-attempt
 * timeout (`timeout`), and connection failures (`network`). Not retried: other 4xx
 * (`client_error`: the request itself is wrong), `bad_response` (the endpoint
 * answered, wrongly: asking again costs money and rarely helps) and `cancelled`.
 */
import type { CallErrorClass } from './types';

export const RETRYABLE: ReadonlySet<CallErrorClass> = new Set<CallErrorClass>([
  'timeout',
  'network',
  'rate_limited',
  'server_error',
]);

/** The class of a non-2xx HTTP status. */
export function classifyStatus(status: number): CallErrorClass {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

interface HeaderSource {
  get(name: string): string | null;
}

const DELAY_SECONDS = /^\d+(\.\d+)?$/;
/** Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name; Date.parse alone takes '-5' as a year. */
const HTTP_DATE_START = /^[A-Za-z]{3}/;

/**
 * The server's requested wait in ms, or undefined when it gave none we understand.
 * `retry-after-ms` (OpenAI's and Azure's sub-second hint) wins over `Retry-After`,
 * which is either delay-seconds or an HTTP date (a date in the past means 0).
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && DELAY_SECONDS.test(ms)) return Number(ms);
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (DELAY_SECONDS.test(value)) return Number(value) * 1000;
  const date = HTTP_DATE_START.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"): uniform in [0, min(cap, base * 2^(attempt-1))), where `attempt` is
 * the number of attempts made so far (1 after the first failure).
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Never earlier than the server asked; otherwise jittered exponential backoff. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  baseMs: number,
  capMs: number,
  random?: () => number,
): number {
  const backoff = backoffDelay(attempt, baseMs, capMs, random);
  return retryAfterMs === undefined ? backoff : Math.max(Math.ceil(retryAfterMs), backoff);
}
