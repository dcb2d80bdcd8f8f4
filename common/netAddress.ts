/**
 * IP address text to a number, in every spelling a resolver or a URL parser accepts, so the
 * egress policy (domain/models/egress.ts) and its allow list (endpointAllow.ts) compare one form.
 *
 * IPv4 as inet_aton reads it: one to four parts, each decimal, octal (leading 0) or hex (0x);
 * the last part fills the remaining bytes (`2130706433`, `0x7f.1`, `0177.0.0.1` are 127.0.0.1).
 * IPv6 with `::`, an embedded dotted quad, brackets and a zone (`%eth0`) dropped. An IPv6
 * address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, the old
 * compatible `::a.b.c.d`) is reported as that IPv4 address: it reaches the same host.
 */

export interface IpAddress {
  family: 4 | 6;
  /** 32 bits for IPv4, 128 for IPv6. */
  value: bigint;
}

const V4_PART = /^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$/i;

function parseV4Part(part: string): bigint | null {
  if (!V4_PART.test(part)) return null;
  if (/^0x/i.test(part)) return part.length === 2 ? 0n : BigInt(part);
  if (part.length > 1 && part.startsWith('0')) return BigInt(`0o${part.slice(1)}`);
  return BigInt(part);
}

/** IPv4 in inet_aton's spellings, or null. */
export function parseIpv4(text: string): bigint | null {
  const parts = text.replace(/\.$/, '').split('.');
  if (parts.length < 1 || parts.length > 4 || parts.some((p) => p === '')) return null;
  const values = parts.map(parseV4Part);
  if (values.some((v) => v === null)) return null;
  const nums = values as bigint[];
  const last = nums[nums.length - 1];
  const lead = nums.slice(0, -1);
  if (lead.some((v) => v > 255n)) return null;
  const lastBits = BigInt(8 * (4 - lead.length));
  if (last >= 1n << lastBits) return null;
  return lead.reduce((acc, v, i) => acc | (v << BigInt(8 * (3 - i))), 0n) | last;
}

function parseV6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): bigint[] | null => {
    if (half === '') return [];
    const out: bigint[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(part) ? parseIpv4(part) : null;
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) out.push(BigInt(`0x${part}`));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<bigint>(missing).fill(0n), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

const V4_MAPPED = 0xffffn << 32n;
const NAT64 = 0x64ff9bn << 96n;
const LOW_32 = (1n << 32n) - 1n;

/** Any IP literal (brackets and zone allowed), normalised; null for a host name. */
export function parseIp(text: string): IpAddress | null {
  let host = text.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.includes(':')) {
    const value = parseV6(host.replace(/%.*$/, ''));
    if (value === null) return null;
    const high = value >> 32n;
    if (high === V4_MAPPED >> 32n || high === NAT64 >> 32n || (high === 0n && value > 1n))
      return { family: 4, value: value & LOW_32 };
    return { family: 6, value };
  }
  const v4 = parseIpv4(host);
  return v4 === null ? null : { family: 4, value: v4 };
}

/** Canonical text: dotted quad, or eight lower-case hex groups joined by ':' (not compressed). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 255n)).join('.');
  return [...Array(8).keys()].map((i) => ((ip.value >> BigInt(16 * (7 - i))) & 0xffffn).toString(16)).join(':');
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

/** `a.b.c.d/n` or `v6/n`; null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.lastIndexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return null;
  const host = text.slice(0, slash);
  const bits = Number(text.slice(slash + 1));
  // Parsed without the IPv4-in-IPv6 folding: `::ffff:0:0/96` is an IPv6 range.
  const v6 = host.includes(':');
  const value = v6 ? parseV6(host) : parseIpv4(host);
  if (value === null) return null;
  const family = v6 ? 6 : 4;
  const width = family === 4 ? 32 : 128;
  if (bits > width) return null;
  const shift = BigInt(width - bits);
  return { family, base: (value >> shift) << shift, bits };
}

export function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  const shift = BigInt((ip.family === 4 ? 32 : 128) - cidr.bits);
  return ip.value >> shift === cidr.base >> shift;
}
