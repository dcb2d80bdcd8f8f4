import { createHash, hash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no insignificant whitespace, -0 as 0.
 * Hashes of canonical JSON identify content independent of key order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError('non-finite number in canonical JSON');
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    }
    if (value === undefined) throw new TypeError('undefined in canonical JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  if (isFlat(record, keys)) return JSON.stringify(record, keys);
  return canonicalObject(
    record,
    keys.filter((k) => record[k] !== undefined),
  );
}

/**
 * Every value a string, boolean, null, finite number or undefined — a typical model
 * input row. Then JSON.stringify with the sorted keys as its property list writes the
 * canonical form in one native call (it drops undefined and writes -0 as 0, as below).
 */
function isFlat(record: Record<string, unknown>, keys: string[]): boolean {
  for (const key of keys) {
    const v = record[key];
    if (v === null || v === undefined) continue;
    const type = typeof v;
    if (type === 'string' || type === 'boolean') continue;
    if (type === 'number' && Number.isFinite(v)) continue;
    return false;
  }
  return true;
}

function canonicalObject(record: Record<string, unknown>, keys: string[]): string {
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

/** One-shot hashing (Node >= 20.12) allocates no Hash object: about half the cost for a short string. */
const oneShot = typeof hash === 'function' ? hash : undefined;

export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function hashCanonical(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
