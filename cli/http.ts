/**
 * The CLI's API client. Every way a call can go wrong becomes one clear line and an exit
 * code: a network error, a 5xx or a timeout is exit 2 (never a pass); a 4xx carries the
 * API's code, message and field for the command to decide on.
 */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface Api {
  readonly baseUrl: string;
  get<T = any>(path: string, timeoutMs?: number): Promise<T>;
  post<T = any>(path: string, body: unknown, timeoutMs?: number): Promise<{ status: number; body: T }>;
  put<T = any>(path: string, body: unknown, timeoutMs?: number): Promise<{ status: number; body: T }>;
  /** Streams JSON lines (a dataset version) without holding them: the body is read as it is sent. */
  postNdjson<T = any>(
    path: string,
    body: ReadableStream<Uint8Array>,
    timeoutMs?: number,
  ): Promise<{ status: number; body: T }>;
}

/** `?a=1&b=x` from the defined entries only. */
export function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== '') as [string, string][];
  return entries.length
    ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : '';
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function createApi(baseUrl: string, token: string): Api {
  const base = baseUrl.replace(/\/+$/, '');
  async function call(method: string, path: string, body: unknown, timeoutMs: number) {
    const stream = body instanceof ReadableStream;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': stream ? 'application/x-ndjson' : 'application/json' }),
        },
        body: body === undefined ? undefined : stream ? body : JSON.stringify(body),
        ...(stream ? { duplex: 'half' } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      } as RequestInit);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new CliFailure(`the API at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s`, 2);
      throw new CliFailure(`cannot reach the API at ${base}: ${e.cause?.code ?? e.cause?.message ?? e.message}`, 2);
    }
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status >= 500 || (res.status >= 400 && !parsed?.error)) {
      const detail = parsed?.error
        ? `${parsed.error.code}: ${parsed.error.message}`
        : text.slice(0, 200) || res.statusText;
      throw new CliFailure(`the API answered ${res.status} (${detail})`, 2);
    }
    if (res.status >= 400)
      throw new ApiRefusal(res.status, parsed.error.code, parsed.error.message, parsed.error.field);
    return { status: res.status, body: parsed };
  }
  return {
    baseUrl: base,
    get: async (path, timeoutMs = DEFAULT_TIMEOUT_MS) => (await call('GET', path, undefined, timeoutMs)).body,
    post: (path, body, timeoutMs = DEFAULT_TIMEOUT_MS) => call('POST', path, body, timeoutMs),
    put: (path, body, timeoutMs = DEFAULT_TIMEOUT_MS) => call('PUT', path, body, timeoutMs),
    postNdjson: (path, body, timeoutMs = 3_600_000) => call('POST', path, body, timeoutMs),
  };
}
