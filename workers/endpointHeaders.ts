/**
 * Credentials for model and judge endpoints (e.g. a hosted judge's API key). They never
 * go into a model version — that is recorded in lineage and cache keys — but into the
 * worker's environment, EVALGATE_ENDPOINT_HEADERS, as JSON from endpoint URL to headers:
 *
 *   EVALGATE_ENDPOINT_HEADERS='{"https://api.openai.com/v1": {"Authorization": "Bearer sk-..."}}'
 *
 * An entry applies to an endpoint of exactly its origin (scheme, host and port, as the URL
 * parser normalises them: `https://API.x.com:443` is `https://api.x.com`) whose path is the
 * entry's path or below it at a `/`; the longest such path wins. A string prefix would hand
 * `https://api.x.com`'s key to `https://api.x.com.evil.net` or `https://api.x.com@evil.net`.
 */
import type { EndpointSpec } from '../domain/models/types';

export type EndpointHeaders = Record<string, Record<string, string>>;

interface Entry {
  origin: string;
  /** Path without a trailing slash ('' for the whole origin). */
  path: string;
  headers: Record<string, string>;
}

const pathOf = (url: URL) => url.pathname.replace(/\/+$/, '');

export function headersForEndpoints(
  table: EndpointHeaders | undefined,
): ((endpoint: Pick<EndpointSpec, 'url'> & Partial<EndpointSpec>) => Record<string, string> | undefined) | undefined {
  if (!table || !Object.keys(table).length) return undefined;
  const entries: Entry[] = Object.entries(table)
    .map(([key, headers]) => {
      const url = new URL(key); // config.ts refused keys that do not parse
      return { origin: url.origin, path: pathOf(url), headers };
    })
    .sort((a, b) => b.path.length - a.path.length);
  const found = new Map<string, Record<string, string> | undefined>();
  const lookup = (text: string) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return undefined;
    }
    const path = pathOf(url);
    return entries.find(
      (e) => e.origin === url.origin && (e.path === '' || path === e.path || path.startsWith(`${e.path}/`)),
    )?.headers;
  };
  return (endpoint) => {
    if (!found.has(endpoint.url)) found.set(endpoint.url, lookup(endpoint.url));
    return found.get(endpoint.url);
  };
}
