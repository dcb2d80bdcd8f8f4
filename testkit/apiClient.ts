/**
 * A small JSON client for the evalgate API, as a user's script would write one: it throws on
 * a non-2xx answer. The demo and the benches drive the API with it; tests that assert on
 * statuses use `client()` from ./stack instead.
 */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what} answered ${status}: ${JSON.stringify(body)}`);
  }
}

export function apiClient(baseUrl: string, token?: string) {
  const call = async <T = any>(
    method: string,
    path: string,
    body?: string | object,
    contentType = 'application/json',
  ): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (body !== undefined) headers['content-type'] = contentType;
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  /** Calls and insists on a 2xx, so a demo step that fails says which request and why. */
  const ok = async <T = any>(
    method: string,
    path: string,
    body?: string | object,
    contentType?: string,
  ): Promise<T> => {
    const res = await call<T>(method, path, body, contentType);
    if (res.status >= 300) throw new ApiError(res.status, res.body, `${method} ${path}`);
    return res.body;
  };
  return {
    call,
    get: <T = any>(path: string) => ok<T>('GET', path),
    post: <T = any>(path: string, body: object = {}) => ok<T>('POST', path, body),
    put: <T = any>(path: string, body: object) => ok<T>('PUT', path, body),
    ndjson: <T = any>(path: string, jsonl: string) => ok<T>('POST', path, jsonl, 'application/x-ndjson'),
  };
}

export type Api = ReturnType<typeof apiClient>;
