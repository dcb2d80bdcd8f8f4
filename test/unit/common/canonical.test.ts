import { createHash } from 'node:crypto';
import { canonicalJson, hashCanonical } from '../../../common/canonical';

/**
 * The reference: canonical JSON written out by hand, key by key, with no fast path — the
 * definition the content addresses of datasets and the prediction cache keys rest on.
 */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number') return Object.is(value, -0) ? '0' : JSON.stringify(value);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(record[k])}`).join(',')}}`;
}

describe('canonicalJson', () => {
  const flat: Record<string, unknown>[] = [
    { input: 'Subject: hi\n"quoted" \\ back\u2028slash é 🎉', id: 'r-1' },
    { z: 1, a: -0, m: 1e21, b: 0.1, c: -5e-7, ünïcode: true, '': null, __proto__x: false },
    { id: 7, skipped: undefined, text: '' },
    {},
  ];
  const nested: unknown[] = [
    { b: { d: 1, c: [3, { y: 2, x: -0 }] }, a: 'x' },
    [{ b: 2, a: 1 }, 'two', null, true],
    { messages: [{ role: 'user', content: 'hi' }], temperature: 0 },
  ];

  it.each([...flat, ...nested].map((value) => [JSON.stringify(value), value]))(
    'writes %s exactly as the key-by-key definition does',
    (_label, value) => {
      expect(canonicalJson(value)).toBe(reference(value));
    },
  );

  it('does not depend on key order, and drops undefined values', () => {
    expect(canonicalJson({ input: 'x', id: 'a', extra: undefined })).toBe('{"id":"a","input":"x"}');
    expect(canonicalJson({ id: 'a', input: 'x' })).toBe(canonicalJson({ input: 'x', id: 'a' }));
  });

  it('writes -0 as 0 and refuses non-finite numbers, in flat and nested objects alike', () => {
    expect(canonicalJson({ a: -0 })).toBe('{"a":0}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY, b: 'x' })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: { b: Number.NaN } })).toThrow(/non-finite/);
  });

  it('hashes the canonical form with SHA-256', () => {
    const expected = createHash('sha256').update('{"id":"a","input":"x"}').digest('hex');
    expect(hashCanonical({ input: 'x', id: 'a' })).toBe(expected);
  });
});
