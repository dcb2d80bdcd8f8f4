import {
  backoffDelay,
  classifyStatus,
  parseRetryAfter,
  RETRYABLE,
  retryDelay,
} from '../../../domain/models/retryPolicy';

const headers = (values: Record<string, string>) => new Headers(values);

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter(headers({ 'Retry-After': '3' }), now)).toBe(3000);
    expect(parseRetryAfter(headers({ 'Retry-After': '0' }), now)).toBe(0);
    expect(parseRetryAfter(headers({ 'Retry-After': ' 1.5 ' }), now)).toBe(1500);
  });

  it('reads an HTTP date relative to now, and a past date as 0', () => {
    expect(parseRetryAfter(headers({ 'Retry-After': 'Sat, 28 Nov 2026 12:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(headers({ 'Retry-After': 'Sat, 28 Nov 2026 11:59:00 GMT' }), now)).toBe(0);
  });

  it('prefers retry-after-ms over Retry-After', () => {
    expect(parseRetryAfter(headers({ 'Retry-After': '2', 'retry-after-ms': '250' }), now)).toBe(250);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '12.5' }), now)).toBe(12.5);
  });

  it('ignores values it does not understand', () => {
    expect(parseRetryAfter(headers({}), now)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'Retry-After': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'Retry-After': '-5' }), now)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after-ms': 'abc', 'Retry-After': '1' }), now)).toBe(1000);
  });
});

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base * 2^(attempt-1)))', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(10_000, 100 * 2 ** (attempt - 1));
      expect(backoffDelay(attempt, 100, 10_000, () => 0)).toBe(0);
      expect(backoffDelay(attempt, 100, 10_000, () => 0.999999)).toBeLessThan(ceiling);
      expect(backoffDelay(attempt, 100, 10_000, () => 0.999999)).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it('is capped however many attempts were made', () => {
    expect(backoffDelay(60, 100, 10_000, () => 0.5)).toBe(5000);
    expect(backoffDelay(2000, 100, 10_000, () => 0.5)).toBe(5000);
  });

  it('spreads delays over the whole range (full jitter)', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, 100, 10_000));
    expect(Math.min(...delays)).toBeLessThan(80);
    expect(Math.max(...delays)).toBeGreaterThan(720);
    expect(Math.max(...delays)).toBeLessThan(800);
  });
});

describe('retryDelay', () => {
  it('never waits less than the server asked', () => {
    expect(retryDelay(1, 1000, 100, 10_000, () => 0.9)).toBe(1000);
    expect(retryDelay(1, 12.2, 100, 10_000, () => 0)).toBe(13);
  });

  it('uses the backoff when it is longer than Retry-After or there is none', () => {
    expect(retryDelay(5, 100, 100, 10_000, () => 0.5)).toBe(800);
    expect(retryDelay(2, undefined, 100, 10_000, () => 0.5)).toBe(100);
  });
});

describe('classifyStatus', () => {
  it('maps statuses to error classes, and only the transient ones are retried', () => {
    expect(classifyStatus(429)).toBe('rate_limited');
    expect(classifyStatus(500)).toBe('server_error');
    expect(classifyStatus(503)).toBe('server_error');
    expect(classifyStatus(408)).toBe('timeout');
    expect(classifyStatus(400)).toBe('client_error');
    expect(classifyStatus(404)).toBe('client_error');
    expect([...RETRYABLE].sort()).toEqual(['network', 'rate_limited', 'server_error', 'timeout']);
  });
});
