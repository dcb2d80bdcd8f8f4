/**
 * Where model and judge calls may go (API.md "Trust", Egress). Rows leave the platform only for
 * endpoints evalgate may reach without reaching its own inside:
 *
 *  - cloud metadata addresses (and their well-known names) are refused always;
 *  - the platform's own services (its PostgreSQL, Temporal, object store and API, from config) are
 *    refused always, even when an allow entry covers them;
 *  - public addresses are allowed;
 *  - loopback, private, CGNAT, link-local, unique-local and reserved addresses are allowed only
 *    when an entry of EVALGATE_ENDPOINT_ALLOW matches (host, host:port, host:lo-hi or CIDR).
 *
 * Checked at registration on every address the host resolves to, and again on the addresses of
 * each new connection (DNS rebinding): the model client's lookup passes the answer through
 * `connectionAddresses`. Addresses are compared normalised (common/netAddress.ts).
 */
import type { Config } from '../../common/config';
import type { AllowEntry } from '../../common/endpointAllow';
import { formatIp, inCidr, parseCidr, parseIp, type Cidr, type IpAddress } from '../../common/netAddress';
import type { ResolvedAddress, Resolver } from '../../common/resolver';
import { DomainError } from '../errors';

export type AddressKind = 'public' | 'loopback' | 'private' | 'link_local' | 'unique_local' | 'reserved' | 'metadata';

const METADATA_ADDRESSES = new Set(
  // AWS/GCP/Azure/OpenStack, AWS ECS task metadata, Alibaba Cloud, AWS IPv6 IMDS.
  ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'].map((a) => formatIp(parseIp(a)!)),
);
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data.ec2.internal']);

const RANGES: [Cidr, AddressKind][] = (
  [
    ['0.0.0.0/8', 'loopback'], // connecting to 0.0.0.0 reaches this host
    ['127.0.0.0/8', 'loopback'],
    ['::/128', 'loopback'],
    ['::1/128', 'loopback'],
    ['10.0.0.0/8', 'private'],
    ['172.16.0.0/12', 'private'],
    ['192.168.0.0/16', 'private'],
    ['100.64.0.0/10', 'private'], // carrier-grade NAT
    ['169.254.0.0/16', 'link_local'],
    ['fe80::/10', 'link_local'],
    ['fc00::/7', 'unique_local'],
    ['fec0::/10', 'unique_local'], // deprecated site-local
    ['192.0.0.0/24', 'reserved'],
    ['198.18.0.0/15', 'reserved'],
    ['224.0.0.0/3', 'reserved'], // multicast, reserved, broadcast
    ['ff00::/8', 'reserved'],
  ] as const
).map(([range, kind]) => [parseCidr(range)!, kind]);

export function addressKind(ip: IpAddress): AddressKind {
  if (METADATA_ADDRESSES.has(formatIp(ip))) return 'metadata';
  return RANGES.find(([range]) => inCidr(ip, range))?.[1] ?? 'public';
}

export interface PlatformService {
  name: string;
  host: string;
  port: number;
}

function hostPort(address: string, defaultPort: number): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  if (!match) return { host: address, port: defaultPort };
  return { host: match[1], port: match[2] ? Number(match[2]) : defaultPort };
}

/** The platform's own services, from config: no endpoint may be one of them. */
export function platformServices(config: Config): PlatformService[] {
  const db = new URL(config.EVALGATE_DATABASE_URL);
  return [
    { name: 'database (EVALGATE_DATABASE_URL)', host: db.hostname, port: Number(db.port || 5432) },
    { name: 'Temporal (EVALGATE_TEMPORAL_ADDRESS)', ...hostPort(config.EVALGATE_TEMPORAL_ADDRESS, 7233) },
    { name: 'object store (EVALGATE_S3_ENDPOINT)', host: config.EVALGATE_S3_ENDPOINT, port: config.EVALGATE_S3_PORT },
    { name: 'API (EVALGATE_API_HOST)', host: config.EVALGATE_API_HOST, port: config.EVALGATE_API_PORT },
  ].map((s) => ({ ...s, host: s.host.replace(/^\[|\]$/g, '').toLowerCase() }));
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: Verdict = { allowed: true };

/**
 * Query parameters that carry credentials; those go in EVALGATE_ENDPOINT_HEADERS, never in a recorded URL (model
 * versions are readable by other teams and recorded in lineage). By name (Azure Functions' `code`, SAS `sig`, AWS
 * `X-Amz-Credential`/`-Signature`, `api_key`, `access_token`, ...) and by value (well-known key formats, JWTs).
 */
const SECRET_PARAM =
  /(key|token|secret|pass|pwd|^pw$|auth|sign|^sig$|credential|session|^code$|jwt|hmac|bearer|cookie)/i;
const SECRET_VALUE =
  /^(sk[-_]|rk_|pk_live|AIza|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|hf_|xox[abprs]-|egk_|eyJ[\w-]+\.)/;

const defaultPort = (u: URL) => Number(u.port || (u.protocol === 'https:' ? 443 : 80));

/** Refusals at registration, naming the field. */
export const endpointNotAllowed = (message: string) =>
  new DomainError('invalid', 'endpoint_not_allowed', message, 'endpoint.url');

/** What in a URL looks like a credential (a query parameter, or a fragment, which no endpoint reads), if anything. */
export function credentialInUrl(url: URL): string | undefined {
  if (url.hash) return 'the fragment';
  // Some servers split the query on ';' as well as '&'.
  for (const [param, value] of new URLSearchParams(url.search.replace(/;/g, '&')))
    if (SECRET_PARAM.test(param) || SECRET_VALUE.test(value)) return `the query parameter "${param}"`;
  return undefined;
}

export class EgressPolicy {
  /** Resolved addresses of platform services given by host name (localhost, a compose service name). */
  private readonly platformAddresses = new Map<string, IpAddress[]>();
  private platformResolved: Promise<void> | undefined;

  constructor(
    private readonly allow: readonly AllowEntry[],
    private readonly platform: readonly PlatformService[],
    private readonly resolver: Resolver,
  ) {}

  static fromConfig(config: Config, resolver: Resolver): EgressPolicy {
    return new EgressPolicy(config.EVALGATE_ENDPOINT_ALLOW ?? [], platformServices(config), resolver);
  }

  /** Resolves the platform's host names once; a name that does not resolve is matched by name only. */
  ready(): Promise<void> {
    this.platformResolved ??= Promise.all(
      this.platform
        .filter((s) => !parseIp(s.host) && s.host !== 'localhost')
        .map(async (s) => {
          try {
            const found = await this.resolver(s.host);
            this.platformAddresses.set(
              s.host,
              found.map((a) => parseIp(a.address)).filter((a) => a !== null),
            );
          } catch {
            // matched by name only
          }
        }),
    ).then(() => undefined);
    return this.platformResolved;
  }

  /** The rule for one address a connection to `hostname:port` would use. */
  check(hostname: string, port: number, ip: IpAddress): Verdict {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const kind = addressKind(ip);
    if (METADATA_HOSTS.has(name) || (kind === 'metadata' && parseIp(hostname)))
      return { allowed: false, reason: `${hostname} is a cloud metadata address` };
    if (kind === 'metadata') return { allowed: false, reason: `${hostname} resolves to a cloud metadata address` };
    const own = this.platform.find((s) => s.port === port && this.isPlatformHost(s, name, ip, kind));
    if (own) return { allowed: false, reason: `${hostname}:${port} is the platform's own ${own.name}` };
    if (kind === 'public') return ALLOWED;
    const text = formatIp(ip);
    const matched = this.allow.some((entry) =>
      entry.kind === 'cidr'
        ? inCidr(ip, entry.cidr)
        : (entry.ip ? entry.host === text : entry.host === name) &&
          (!entry.ports || (port >= entry.ports[0] && port <= entry.ports[1])),
    );
    if (matched) return ALLOWED;
    return {
      allowed: false,
      reason: `${hostname}:${port} resolves to a ${kind.replace('_', '-')} address that EVALGATE_ENDPOINT_ALLOW does not list`,
    };
  }

  private isPlatformHost(service: PlatformService, name: string, ip: IpAddress, kind: AddressKind): boolean {
    if (service.host === name) return true;
    const literal = parseIp(service.host);
    // A service on loopback (or on every interface) answers on every loopback address of its port.
    if (kind === 'loopback' && (service.host === 'localhost' || (literal && addressKind(literal) === 'loopback')))
      return true;
    if (literal) return formatIp(literal) === formatIp(ip);
    return (this.platformAddresses.get(service.host) ?? []).some((a) => formatIp(a) === formatIp(ip));
  }

  /** Registration: every address the URL's host resolves to must be allowed. Throws `endpoint_not_allowed`. */
  async checkUrl(url: string): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw endpointNotAllowed('endpoint.url does not parse as a URL');
    }
    const secret = credentialInUrl(parsed);
    if (secret)
      throw endpointNotAllowed(
        `endpoint.url: ${secret} looks like a credential; endpoint URLs are shown to other teams and recorded ` +
          'in lineage, so send credentials as headers through EVALGATE_ENDPOINT_HEADERS',
      );
    await this.ready();
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    const port = defaultPort(parsed);
    const literal = parseIp(hostname);
    let addresses: IpAddress[];
    if (literal) addresses = [literal];
    else {
      try {
        addresses = (await this.resolver(hostname)).map((a) => parseIp(a.address)).filter((a) => a !== null);
      } catch (err) {
        throw endpointNotAllowed(
          `endpoint.url: ${hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`,
        );
      }
      if (!addresses.length) throw endpointNotAllowed(`endpoint.url: ${hostname} resolves to no address`);
    }
    for (const ip of addresses) {
      const verdict = this.check(hostname, port, ip);
      if (!verdict.allowed) throw endpointNotAllowed(`endpoint.url: ${verdict.reason}`);
    }
  }

  /** A connection's resolved addresses, those it may use first; a refusal when none is left. */
  connectionAddresses(
    hostname: string,
    port: number,
    resolved: readonly ResolvedAddress[],
  ): { addresses: ResolvedAddress[] } | { refused: string } {
    const addresses: ResolvedAddress[] = [];
    let reason = `${hostname} resolves to no address`;
    for (const a of resolved) {
      const ip = parseIp(a.address);
      const verdict: Verdict = ip
        ? this.check(hostname, port, ip)
        : { allowed: false, reason: `bad address ${a.address}` };
      if (verdict.allowed) addresses.push(a);
      else reason = verdict.reason;
    }
    return addresses.length ? { addresses } : { refused: reason };
  }
}
