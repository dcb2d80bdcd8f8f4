/**
 * `EVALGATE_ENDPOINT_ALLOW`: the loopback and private endpoints model and judge calls may reach
 * (everything public is reachable without an entry; see domain/models/egress.ts for the rules).
 * Comma-separated entries:
 *
 *   host             models.internal, 10.1.2.3, ::1        any port
 *   host:port        127.0.0.1:8700, [::1]:8700            that port
 *   host:lo-hi       127.0.0.1:32768-65535                 a port range
 *   CIDR             10.20.0.0/16, fd12:3456::/32           any address in it, any port
 *
 * An IP entry is stored normalised (2130706433 is 127.0.0.1); a host name is matched by name.
 */
import { formatIp, parseCidr, parseIp, type Cidr } from './netAddress';

export type AllowEntry =
  | { kind: 'host'; host: string; ip: boolean; ports?: readonly [number, number]; text: string }
  | { kind: 'cidr'; cidr: Cidr; text: string };

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i;

function portOf(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

function portsOf(text: string): readonly [number, number] | null {
  const range = /^(\d+)-(\d+)$/.exec(text);
  const lo = portOf(range ? range[1] : text);
  const hi = range ? portOf(range[2]) : lo;
  return lo !== null && hi !== null && lo <= hi ? [lo, hi] : null;
}

function hostEntry(host: string, ports: readonly [number, number] | undefined, text: string): AllowEntry | string {
  const ip = parseIp(host);
  if (ip) return { kind: 'host', host: formatIp(ip), ip: true, ...(ports ? { ports } : {}), text };
  if (host.includes(':') || !HOST_NAME.test(host)) return `"${text}" is not a host, host:port, host:lo-hi or CIDR`;
  return { kind: 'host', host: host.toLowerCase().replace(/\.$/, ''), ip: false, ...(ports ? { ports } : {}), text };
}

function parseEntry(text: string): AllowEntry | string {
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    return cidr ? { kind: 'cidr', cidr, text } : `"${text}" is not a CIDR range like 10.0.0.0/8 or fc00::/7`;
  }
  const bracketed = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  if (bracketed) {
    const ports = bracketed[2] === undefined ? undefined : portsOf(bracketed[2]);
    if (ports === null) return `"${text}": the port must be 1-65535 or a range lo-hi`;
    return hostEntry(bracketed[1], ports, text);
  }
  // More than one ':' is a bare IPv6 address (ports on IPv6 need brackets).
  const colons = text.split(':').length - 1;
  if (colons !== 1) return hostEntry(text, undefined, text);
  const [host, portText] = text.split(':');
  const ports = portsOf(portText);
  if (ports === null) return `"${text}": the port must be 1-65535 or a range lo-hi`;
  return hostEntry(host, ports, text);
}

/** The entries of a comma-separated list, or the first bad one explained. */
export function parseEndpointAllow(text: string | undefined): { entries: AllowEntry[] } | { error: string } {
  const entries: AllowEntry[] = [];
  for (const raw of (text ?? '').split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const entry = parseEntry(item);
    if (typeof entry === 'string') return { error: entry };
    entries.push(entry);
  }
  return { entries };
}
