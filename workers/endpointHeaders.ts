/**
 * Credentials for model and judge endpoints (e.g. a hosted judge's API key). They never
 * go into a model version — that is recorded in lineage and cache keys — but into the
 * worker's environment, EVALGATE_ENDPOINT_HEADERS, as JSON from URL prefix to headers:
 *
 *   EVALGATE_ENDPOINT_HEADERS='{"https://api.openai.com/v1": {"Authorization": "Bearer sk-..."}}'
 *
 * An endpoint gets the headers of the longest prefix of its URL.
 */
import type { EndpointSpec } from '../domain/models/types';

export type EndpointHeaders = Record<string, Record<string, string>>;

export function headersForEndpoints(
  table: EndpointHeaders | undefined,
): ((endpoint: EndpointSpec) => Record<string, string> | undefined) | undefined {
  if (!table || !Object.keys(table).length) return undefined;
  const prefixes = Object.keys(table).sort((a, b) => b.length - a.length);
  const found = new Map<string, Record<string, string> | undefined>();
  return (endpoint) => {
    if (!found.has(endpoint.url))
      found.set(endpoint.url, table[prefixes.find((p) => endpoint.url.startsWith(p)) ?? '']);
    return found.get(endpoint.url);
  };
}
