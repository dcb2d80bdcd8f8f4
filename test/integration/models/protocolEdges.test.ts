/**
 * What the reference model server does not exercise: ranking and regression over both
 * protocols, the exact request bodies, credentials from `headersFor`, redirects,
 * oversized answers, and logs free of secrets and row contents. A small scripted
 * HTTP server written here plays the endpoint.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { createModelClient, EndpointLimiters, type ModelClientOptions } from '../../../activities/models';
import type { EndpointSpec } from '../../../domain/models/types';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

let server: Server;
let base: string;
let received: Received[] = [];
let chatReply = '';
let failuresLeft = 0;
let connections = 0;

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function handle(path: string, res: ServerResponse): void {
  if (path.startsWith('/flaky') && failuresLeft > 0) {
    failuresLeft--;
    return reply(res, 503, { error: { message: 'warming up' } }, { 'retry-after-ms': '5' });
  }
  if (path.startsWith('/rank'))
    return reply(res, 200, { ranking: ['d2', 'd1', 'd2'], usage: { prompt_tokens: 5, completion_tokens: 2 } });
  if (path.startsWith('/regress') || path.startsWith('/flaky')) return reply(res, 200, { value: 3.5 });
  if (path.startsWith('/redirect')) return reply(res, 307, {}, { location: '/rank' });
  if (path.startsWith('/gzip')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    return void res.end(gzipSync(JSON.stringify({ output: 'compressed answer' })));
  }
  if (path.startsWith('/truncated')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"output":');
    setTimeout(() => res.destroy(), 5);
    return;
  }
  if (path.startsWith('/huge')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(17 * 1024 * 1024) });
    res.write('{"output":"');
    return;
  }
  if (path.endsWith('/chat/completions')) {
    return reply(res, 200, {
      choices: [{ index: 0, message: { role: 'assistant', content: chatReply } }],
      usage: { prompt_tokens: 9, completion_tokens: 3 },
    });
  }
  reply(res, 404, { error: { message: 'no such route' } });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      received.push({ path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
      handle(req.url ?? '', res);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  received = [];
});

const client = (overrides: Partial<ModelClientOptions> = {}) =>
  createModelClient({
    timeoutMs: 2_000,
    maxAttempts: 3,
    retryBaseMs: 5,
    defaultMaxConcurrency: 8,
    limiters: new EndpointLimiters(),
    ...overrides,
  });
const predict = (
  endpoint: EndpointSpec,
  taskType: 'ranking' | 'retrieval' | 'regression' | 'generation',
  row: Record<string, unknown>,
  params: Record<string, unknown> = {},
) => ({ endpoint, taskType, promptTemplate: null, params, row });

describe('ranking and regression', () => {
  it('json-predict: posts the row as it is and reads the ranking (each document once) and OpenAI-style usage', async () => {
    const row = { id: 'q1', query: 'refund policy', candidates: [{ docId: 'd1' }, { docId: 'd2' }] };
    const result = await client().predict(predict({ protocol: 'json-predict', url: `${base}/rank` }, 'ranking', row));
    expect(result).toMatchObject({
      prediction: { ranking: ['d2', 'd1'] },
      usage: { inputTokens: 5, outputTokens: 2 },
      attempts: 1,
    });
    expect(received[0].body).toEqual(row);
    expect(received[0].headers['content-type']).toBe('application/json');
  });

  it('json-predict: reads a regression value', async () => {
    const result = await client().predict(
      predict({ protocol: 'json-predict', url: `${base}/regress` }, 'regression', { id: 'r', input: 'x' }),
    );
    expect(result.prediction).toEqual({ value: 3.5 });
  });

  it('openai-chat: sends model, rendered messages and params (not stream), and parses rankings and numbers', async () => {
    const endpoint: EndpointSpec = { protocol: 'openai-chat', url: `${base}/v1/`, model: 'ranker' };
    chatReply = ' ["d3", "d1"] ';
    const row = { id: 'q', query: 'refunds', candidates: [{ docId: 'd1' }, { docId: 'd3' }] };
    const ranked = await client().predict(
      predict(endpoint, 'retrieval', row, { temperature: 0, seed: 7, stream: true, model: 'other', messages: [] }),
    );
    expect(ranked).toMatchObject({ prediction: { ranking: ['d3', 'd1'] }, usage: { inputTokens: 9, outputTokens: 3 } });
    expect(received[0].path).toBe('/v1/chat/completions');
    expect(received[0].body).toEqual({
      temperature: 0,
      seed: 7,
      model: 'ranker',
      messages: [{ role: 'user', content: 'refunds\n\n[{"docId":"d1"},{"docId":"d3"}]' }],
    });

    chatReply = 'd2, d4';
    expect((await client().predict(predict(endpoint, 'ranking', row))).prediction).toEqual({ ranking: ['d2', 'd4'] });
    chatReply = '\n 41.5\n';
    expect((await client().predict(predict(endpoint, 'regression', { id: 'r', input: 'x' }))).prediction).toEqual({
      value: 41.5,
    });
    chatReply = 'about forty';
    const notANumber = await client().predict(predict(endpoint, 'regression', { id: 'r', input: 'x' }));
    expect(notANumber).toMatchObject({ attempts: 1, error: { class: 'bad_response' }, usage: { inputTokens: 9 } });
  });
});

describe('transport', () => {
  it('sends the headers headersFor gives, to the endpoint it gives them for', async () => {
    const headersFor = (endpoint: EndpointSpec) =>
      endpoint.url.includes('/regress') ? { authorization: 'Bearer sk-test' } : undefined;
    const models = client({ headersFor });
    await models.predict(
      predict({ protocol: 'json-predict', url: `${base}/regress` }, 'regression', { id: 'r', input: 'x' }),
    );
    await models.predict(
      predict({ protocol: 'json-predict', url: `${base}/rank` }, 'ranking', { id: 'q', query: 'x' }),
    );
    expect(received.map((request) => request.headers.authorization)).toEqual(['Bearer sk-test', undefined]);
  });

  it('does not follow redirects', async () => {
    const result = await client().predict(
      predict({ protocol: 'json-predict', url: `${base}/redirect` }, 'ranking', { id: 'q', query: 'x' }),
    );
    expect(result).toMatchObject({ attempts: 1, error: { class: 'client_error', status: 307 } });
    expect(received.map((request) => request.path)).toEqual(['/redirect']);
  });

  it('keeps connections alive: many calls over no more sockets than the concurrency limit', async () => {
    const before = connections;
    const models = client();
    const endpoint: EndpointSpec = { protocol: 'json-predict', url: `${base}/regress`, maxConcurrency: 4 };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        models.predict(predict(endpoint, 'regression', { id: String(i), input: 'x' })),
      ),
    );
    expect(results.every((result) => result.prediction?.value === 3.5)).toBe(true);
    expect(connections - before).toBeLessThanOrEqual(4);
  });

  it('decodes a gzip-encoded answer', async () => {
    const result = await client().predict(
      predict({ protocol: 'json-predict', url: `${base}/gzip` }, 'generation', { id: 'g', input: 'x' }),
    );
    expect(result.prediction).toEqual({ output: 'compressed answer' });
  });

  it('treats an answer cut short as a network failure, and retries it', async () => {
    const result = await client({ maxAttempts: 2 }).predict(
      predict({ protocol: 'json-predict', url: `${base}/truncated` }, 'generation', { id: 'g', input: 'x' }),
    );
    expect(result).toMatchObject({ attempts: 2, error: { class: 'network' } });
  });

  it('refuses an answer declared larger than 16 MiB without reading it', async () => {
    const started = Date.now();
    const result = await client().predict(
      predict({ protocol: 'json-predict', url: `${base}/huge` }, 'generation', { id: 'g', input: 'x' }),
    );
    expect(result).toMatchObject({ attempts: 1, error: { class: 'bad_response', status: 200 } });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('logs', () => {
  it('record retries and failures without credentials, query strings or row contents', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const models = client({ logger, maxAttempts: 2, headersFor: () => ({ authorization: 'Bearer SECRET-TOKEN' }) });
    failuresLeft = 5;
    const row = { id: 'r', input: 'ROW-CONTENT-MARKER' };
    const results = await Promise.all([
      models.predict(predict({ protocol: 'json-predict', url: `${base}/flaky?api_key=SECRET-KEY` }, 'regression', row)),
      models.predict(
        predict(
          { protocol: 'openai-chat', url: `https://user:SECRET-PASSWORD@127.0.0.1:1/v1`, model: 'm' },
          'generation',
          row,
        ),
      ),
    ]);
    // fetch refuses a URL with credentials before sending: not retried, and the URL stays out of the message.
    expect(results.map((result) => [result.error?.class, result.attempts])).toEqual([
      ['server_error', 2],
      ['client_error', 1],
    ]);
    expect(results[1].error?.message).not.toContain('SECRET');
    const logged = lines.join('');
    expect(logged).toContain('model call retrying');
    expect(logged).toContain('model call failed');
    expect(logged).toContain(`json-predict ${base}/flaky`);
    for (const secret of ['SECRET-TOKEN', 'SECRET-KEY', 'SECRET-PASSWORD', 'ROW-CONTENT-MARKER'])
      expect(logged).not.toContain(secret);
  });
});
