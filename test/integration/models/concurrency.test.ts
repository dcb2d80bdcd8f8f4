/**
 * Endpoint limits over real HTTP: the reference model server reports the peak of
 * requests it had in flight, so we can check the limit from the server's side.
 */
import { createModelClient } from '../../../activities/models';
import type { EndpointSpec } from '../../../domain/models/types';
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';

let servers: ModelServer[];

beforeAll(async () => {
  servers = await Promise.all([createModelServer(), createModelServer()]);
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});
beforeEach(() => {
  for (const server of servers) {
    server.resetKnobs();
    server.resetStats();
  }
});

// These clients share the process-wide limiter registry, as every client in a worker does.
const newClient = (retryBaseMs = 5) =>
  createModelClient({ timeoutMs: 5_000, maxAttempts: 8, retryBaseMs, retryMaxMs: 50, defaultMaxConcurrency: 64 });

const call = (client: ReturnType<typeof newClient>, endpoint: EndpointSpec, i: number) =>
  client.predict({
    endpoint,
    taskType: 'classification',
    promptTemplate: 'Classify this email as ham or spam:\n{{input}}',
    params: {},
    row: { id: String(i), input: `Subject: note ${i}\n\nsee you at ${i}` },
  });

describe('per-endpoint concurrency', () => {
  it('never exceeds maxConcurrency, counted across every client in the process and across retries', async () => {
    const [server] = servers;
    server.setKnobs({ latencyMs: 5, latencyJitterMs: 10, errorRate: 0.1 });
    const endpoint: EndpointSpec = { protocol: 'json-predict', url: server.predictUrl('nb-v1'), maxConcurrency: 5 };
    const clients = [newClient(), newClient()];
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => call(clients[i % 2], endpoint, i)));
    expect(results.filter((result) => result.error)).toEqual([]);
    const stats = server.stats();
    expect(stats.requests.byStatus['500']).toBeGreaterThan(0);
    expect(stats.concurrency.maxInFlight).toBe(5);
  });

  it('limits each endpoint separately', async () => {
    for (const server of servers) server.setKnobs({ latencyMs: 10 });
    const client = newClient();
    const endpoints: EndpointSpec[] = [
      { protocol: 'json-predict', url: servers[0].predictUrl('nb-v1'), maxConcurrency: 3 },
      { protocol: 'openai-chat', url: servers[1].openaiBaseUrl, model: 'nb-v1', maxConcurrency: 7 },
    ];
    await Promise.all(Array.from({ length: 200 }, (_, i) => call(client, endpoints[i % 2], i)));
    expect(servers[0].stats().concurrency.maxInFlight).toBe(3);
    expect(servers[1].stats().concurrency.maxInFlight).toBe(7);
  });

  it('uses defaultMaxConcurrency when the endpoint declares none', async () => {
    const [server] = servers;
    server.setKnobs({ latencyMs: 10 });
    const client = createModelClient({ timeoutMs: 5_000, maxAttempts: 2, retryBaseMs: 5, defaultMaxConcurrency: 4 });
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(client, { protocol: 'json-predict', url: server.predictUrl('logreg-v1') }, i),
      ),
    );
    expect(server.stats().concurrency.maxInFlight).toBe(4);
  });

  it('gives the permit back while a call waits to retry', async () => {
    const [server] = servers;
    server.setKnobs({ errorRate: 1 });
    const client = createModelClient({
      timeoutMs: 5_000,
      maxAttempts: 2,
      retryBaseMs: 400,
      retryMaxMs: 400,
      defaultMaxConcurrency: 1,
      random: () => 0.99,
    });
    const endpoint: EndpointSpec = { protocol: 'json-predict', url: server.predictUrl('keywords-v1') };
    const finished: string[] = [];
    const first = call(client, endpoint, 1).then((result) => (finished.push('first'), result));
    while (!server.stats().requests.byStatus['500']) await new Promise((resolve) => setTimeout(resolve, 2));
    server.setKnobs({ errorRate: 0 });
    const second = call(client, endpoint, 2).then((result) => (finished.push('second'), result));
    expect((await second).attempts).toBe(1);
    expect((await first).attempts).toBe(2);
    expect(finished).toEqual(['second', 'first']);
  });

  it('reports in-flight and queued calls per endpoint', async () => {
    const [server] = servers;
    server.setKnobs({ latencyMs: 100 });
    const client = newClient();
    const endpoint: EndpointSpec = {
      protocol: 'json-predict',
      url: `${server.predictUrl('nb-small-v1')}?token=secret`,
      maxConcurrency: 2,
    };
    const pending = Promise.all(Array.from({ length: 5 }, (_, i) => call(client, endpoint, i)));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const stats = client.stats().endpoints.find((entry) => entry.endpoint.includes('nb-small-v1'));
    expect(stats).toEqual({
      endpoint: `json-predict ${server.predictUrl('nb-small-v1')}`,
      limit: 2,
      maxLimit: 2,
      inFlight: 2,
      queued: 3,
      paused: false,
      circuit: 'closed',
      decreases: 0,
      pauses: 0,
    });
    await pending;
  });
});

describe('per-endpoint rate limit', () => {
  it('spaces requests to maxRps after a one-second burst', async () => {
    const [server] = servers;
    const client = newClient();
    const endpoint: EndpointSpec = { protocol: 'json-predict', url: server.predictUrl('nb-v1'), maxRps: 100 };
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => call(client, endpoint, i)));
    expect(results.every((result) => result.prediction)).toBe(true);
    // 100 at once, then 50 more at 10 ms apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
