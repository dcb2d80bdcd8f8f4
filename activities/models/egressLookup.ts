/**
 * The egress policy on the connection itself: a `lookup` for node:http that resolves the host,
 * keeps only the addresses the policy allows for that host and port, and fails the connection
 * (code EGRESS_REFUSED, reported as `endpoint_not_allowed`) when none is left. It runs once per new
 * connection, not per request; an IP-literal host is never looked up by node, so its verdict is
 * decided once per URL here.
 */
import type { LookupFunction } from 'node:net';
import { parseIp } from '../../common/netAddress';
import { systemResolver, type Resolver } from '../../common/resolver';
import type { EgressPolicy } from '../../domain/models/egress';
import { EGRESS_REFUSED } from './httpAttempt';

export interface EgressRoute {
  /** Why no connection may be made (an IP literal the policy refuses). */
  refused?: string;
  lookup?: LookupFunction;
}

const MAX_ROUTES = 1024;

/** Per endpoint URL (cached: endpoints are few), how its connections resolve. */
export function egressRoutes(policy: EgressPolicy, resolver: Resolver = systemResolver): (url: string) => EgressRoute {
  void policy.ready();
  const routes = new Map<string, EgressRoute>();

  const lookupFor = (port: number): LookupFunction =>
    ((hostname: string, options: { family?: number | string; all?: boolean }, callback: Function) => {
      resolver(hostname).then(
        (resolved) => {
          const family = options.family === 4 || options.family === 6 ? options.family : undefined;
          const verdict = policy.connectionAddresses(
            hostname,
            port,
            family ? resolved.filter((a) => a.family === family) : resolved,
          );
          if ('refused' in verdict)
            return callback(Object.assign(new Error(verdict.refused), { code: EGRESS_REFUSED }), '', 0);
          if (options.all) return callback(null, verdict.addresses);
          callback(null, verdict.addresses[0].address, verdict.addresses[0].family);
        },
        (err: unknown) => callback(err, '', 0),
      );
    }) as LookupFunction;

  const routeOf = (url: string): EgressRoute => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return {}; // the request itself reports the bad URL
    }
    const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    const literal = parseIp(hostname);
    if (!literal) return { lookup: lookupFor(port) };
    const verdict = policy.check(hostname, port, literal);
    return verdict.allowed ? {} : { refused: verdict.reason };
  };

  return (url) => {
    let route = routes.get(url);
    if (!route) {
      if (routes.size >= MAX_ROUTES) routes.clear();
      routes.set(url, (route = routeOf(url)));
    }
    return route;
  };
}
