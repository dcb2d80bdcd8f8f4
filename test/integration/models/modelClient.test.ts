/**
 * The model client against the reference model server over real HTTP (in-process,
 * port 0): both protocols, retries, Retry-After, outages, timeouts and cancellation.
 * Concurrency limits are in concurrency.test.ts.
 */
import { createModelClient, EndpointLimiters, type ModelClientOptions } from '../../../activities/models';
import type { EndpointSpec } from '../../../domain/models/types';
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';

const SPAM = 'Subject: WIN MONEY NOW\n\nClick here for a free offer, act now, limited time, no risk, cash prize!!!';
const HAM =
  'Subject: meeting notes\n\nHi team, attached are the notes from Tuesday. The build is green again; see you at standup.';

let server: ModelServer;

beforeAll(async () => {
  server = await createModelServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.resetKnobs();
  server.resetStats();
});

function client(overrides: Partial<ModelClientOptions> = {}) {
  return createModelClient({
    timeoutMs: 5_000,
    maxAttempts: 4,
    retryBaseMs: 10,
    retryMaxMs: 100,
    defaultMaxConcurrency: 16,
    limiters: new EndpointLimiters(),
    ...overrides,
  });
}

const predictEndpoint = (model = 'nb-v1'): EndpointSpec => ({
  protocol: 'json-predict',
  url: server.predictUrl(model),
});
const chatEndpoint = (model = 'nb-v1'): EndpointSpec => ({ protocol: 'openai-chat', url: server.openaiBaseUrl, model });
const classify = (endpoint: EndpointSpec, input = SPAM, signal?: AbortSignal) => ({
  endpoint,
  taskType: 'classification' as const,
  promptTemplate: 'Classify this email as ham or spam:\n{{input}}',
  params: { temperature: 0 },
  row: { id: 'e1', input },
  signal,
});

/** Resolves once the server has answered `status` at least `count` times. */
async function serverAnswered(status: string, count = 1): Promise<void> {
  while ((server.stats().requests.byStatus[status] ?? 0) < count)
    await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('json-predict', () => {
  it('returns a classification with scores and usage', async () => {
    const result = await client().predict(classify(predictEndpoint()));
    expect(result.error).toBeUndefined();
    expect(result.prediction).toEqual({ label: 'spam', scores: { ham: expect.any(Number), spam: expect.any(Number) } });
    expect(result.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: 1 });
    expect(result.attempts).toBe(1);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('returns a generation', async () => {
    const result = await client().predict({
      endpoint: predictEndpoint('lead-v1'),
      taskType: 'generation',
      promptTemplate: null,
      params: {},
      row: { id: 'g1', input: HAM },
    });
    expect(result.prediction).toEqual({ output: expect.any(String) });
    expect(result.prediction?.output?.length).toBeGreaterThan(0);
  });

  it('answers a wrong shape with bad_response, without retrying', async () => {
    server.setKnobs({ malformedRate: 1 });
    const result = await client().predict(classify(predictEndpoint()));
    expect(result.error).toMatchObject({ class: 'bad_response', status: 200 });
    expect(result.attempts).toBe(1);
    const wrongTask = await client().predict({ ...classify(predictEndpoint('lead-v1')), taskType: 'regression' });
    expect(wrongTask.error?.class).toBe('bad_response');
  });
});

describe('openai-chat', () => {
  it('returns the same label as json-predict, from the rendered prompt, with usage', async () => {
    const models = client();
    const [viaChat, viaPredict] = await Promise.all([
      models.predict(classify(chatEndpoint(), HAM)),
      models.predict(classify(predictEndpoint(), HAM)),
    ]);
    expect(viaChat.error).toBeUndefined();
    expect(viaChat.prediction).toEqual({ label: viaPredict.prediction?.label });
    expect(viaChat.usage?.inputTokens).toBeGreaterThan(0);
    expect(server.stats().requests.byRoute).toEqual({ chat: 1, predict: 1 });
  });

  it('returns a generation, trimmed', async () => {
    const result = await client().predict({
      endpoint: chatEndpoint('lead-v1'),
      taskType: 'generation',
      promptTemplate: 'Write a subject line for this email:\n{{input}}',
      params: {},
      row: { id: 'g', input: HAM },
    });
    expect(result.prediction?.output).toBeTruthy();
    expect(result.prediction?.output).toBe(result.prediction?.output?.trim());
  });

  it('makes raw chat calls for the judge', async () => {
    const prompt =
      'Score the candidate.\n<output>meeting notes</output>\n<reference>meeting notes from Tuesday</reference>';
    const result = await client().chat({
      endpoint: chatEndpoint('judge-v1'),
      messages: [{ role: 'user', content: prompt }],
      params: { temperature: 0, seed: 1 },
    });
    expect(result.error).toBeUndefined();
    expect(JSON.parse(result.content ?? '')).toEqual({ score: expect.any(Number), reason: expect.any(String) });
    expect(result.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
  });

  it('sends the serialised row as the json-predict body when given only that', async () => {
    const { row: _row, ...call } = classify(predictEndpoint());
    const result = await client().predict({ ...call, rowJson: JSON.stringify({ id: 'e1', input: SPAM }) });
    expect(result.prediction?.label).toBe('spam');
  });

  it('refuses an openai-chat call given only the serialised row (the prompt needs its fields), without sending it', async () => {
    const { row: _row, ...call } = classify(chatEndpoint('lead-v1'));
    const result = await client().predict({ ...call, rowJson: '{"id":"e1","input":"hi"}' });
    expect(result).toMatchObject({
      error: { class: 'client_error', message: expect.stringMatching(/needs the row/) },
      attempts: 0,
    });
    expect(server.stats().requests.total).toBe(0);
  });

  it('refuses a chat call to a json-predict endpoint without sending it', async () => {
    const result = await client().chat({
      endpoint: predictEndpoint(),
      messages: [{ role: 'user', content: 'hi' }],
      params: {},
    });
    expect(result).toMatchObject({ error: { class: 'client_error' }, attempts: 0 });
    expect(server.stats().requests.total).toBe(0);
  });
});

describe('retries', () => {
  it('gets every call through at a 20% error rate, retrying some', async () => {
    server.setKnobs({ errorRate: 0.2 });
    const models = client({ maxAttempts: 10 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        models.predict(classify(i % 2 ? predictEndpoint() : chatEndpoint(), i % 3 ? SPAM : HAM)),
      ),
    );
    expect(results.filter((result) => result.error)).toEqual([]);
    expect(results.filter((result) => result.attempts > 1).length).toBeGreaterThan(10);
    const stats = models.stats();
    expect(stats).toMatchObject({ calls: 200, succeeded: 200 });
    expect(stats.retries.server_error).toBe(stats.attempts - 200);
    expect(server.stats().requests.byStatus['500']).toBe(stats.retries.server_error);
  });

  it('waits as long as Retry-After asks before retrying a 429', async () => {
    server.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    const pending = client().predict(classify(predictEndpoint()));
    await serverAnswered('429');
    server.setKnobs({ rateLimitRate: 0 });
    const result = await pending;
    expect(result.error).toBeUndefined();
    expect(result.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('prefers retry-after-ms, and holds back other calls to the endpoint meanwhile', async () => {
    server.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 5, retryAfterMs: 300 });
    const models = client();
    const started = Date.now();
    const first = models.predict(classify(predictEndpoint()));
    await serverAnswered('429');
    server.setKnobs({ rateLimitRate: 0 });
    // The client has read the 429 (and paused the endpoint) once it counts the retry.
    while (models.stats().retries.rate_limited === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const secondStarted = Date.now();
    const second = await models.predict(classify(predictEndpoint(), HAM));
    expect(second).toMatchObject({ attempts: 1, prediction: { label: 'ham' } });
    expect(Date.now() - secondStarted).toBeGreaterThanOrEqual(200);
    expect((await first).attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Well under the 5 s of Retry-After.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('gives up at once when Retry-After is longer than it will hold a shard for', async () => {
    server.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 120 });
    const started = Date.now();
    const result = await client().predict(classify(predictEndpoint()));
    expect(result).toMatchObject({ attempts: 1, error: { class: 'rate_limited', status: 429 } });
    expect(result.error?.message).toMatch(/asked to wait 120 s/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry a 4xx', async () => {
    const result = await client().predict(classify(predictEndpoint('no-such-model')));
    expect(result).toMatchObject({ attempts: 1, error: { class: 'client_error', status: 404 } });
    expect(result.error?.message).toContain('does not exist');
    expect(server.stats().requests.total).toBe(1);
  });

  it('stops after exactly maxAttempts against a down endpoint, in bounded time', async () => {
    server.setKnobs({ down: true });
    const started = Date.now();
    const result = await client({ maxAttempts: 5, retryBaseMs: 20, retryMaxMs: 40 }).predict(
      classify(predictEndpoint()),
    );
    expect(result).toMatchObject({ attempts: 5, error: { class: 'server_error', status: 503 } });
    expect(server.stats().requests.total).toBe(5);
    // Four backoff waits of at most 40 ms each, plus the requests (slack for a busy machine).
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('classes dropped connections and refused ones as network errors, retried to maxAttempts', async () => {
    server.setKnobs({ down: true, downMode: 'reset' });
    const reset = await client({ maxAttempts: 3 }).predict(classify(predictEndpoint()));
    expect(reset).toMatchObject({ attempts: 3, error: { class: 'network' } });
    expect(server.stats().requests.byStatus.reset).toBe(3);

    const closed = await createModelServer();
    const closedUrl = closed.predictUrl('nb-v1');
    await closed.close();
    const refused = await client({ maxAttempts: 3 }).predict(classify({ protocol: 'json-predict', url: closedUrl }));
    expect(refused).toMatchObject({
      attempts: 3,
      error: { class: 'network', message: expect.stringContaining('ECONNREFUSED') },
    });
  });

  it('times out a slow attempt and retries it', async () => {
    server.setKnobs({ latencyMs: 2_000 });
    const started = Date.now();
    const result = await client({ timeoutMs: 100, maxAttempts: 2 }).predict(classify(predictEndpoint()));
    expect(result).toMatchObject({ attempts: 2, error: { class: 'timeout' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    // Two 100 ms attempts and a backoff of at most 100 ms, far from one 2 s answer.
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe('cancellation', () => {
  it('ends a call in flight at once when the caller aborts, with no retry', async () => {
    server.setKnobs({ latencyMs: 5_000 });
    const controller = new AbortController();
    const pending = client().predict(classify(predictEndpoint(), SPAM, controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const aborted = Date.now();
    controller.abort();
    const result = await pending;
    expect(result).toMatchObject({ attempts: 1, error: { class: 'cancelled' } });
    expect(Date.now() - aborted).toBeLessThan(250);
    expect(server.stats().requests.total).toBe(1);
  });

  it('ends a call waiting between attempts, and one waiting for a permit', async () => {
    server.setKnobs({ errorRate: 1 });
    const models = client({ retryBaseMs: 10_000, retryMaxMs: 10_000, random: () => 0.99 });
    const controller = new AbortController();
    const backingOff = models.predict(classify(predictEndpoint(), SPAM, controller.signal));
    await serverAnswered('500');
    server.setKnobs({ errorRate: 0, latencyMs: 5_000 });
    const blockerController = new AbortController();
    const blocker = models.predict(
      classify(
        { ...predictEndpoint(), url: server.predictUrl('logreg-v1'), maxConcurrency: 1 },
        SPAM,
        blockerController.signal,
      ),
    );
    const queuedController = new AbortController();
    const queued = models.predict(
      classify(
        { ...predictEndpoint(), url: server.predictUrl('logreg-v1'), maxConcurrency: 1 },
        HAM,
        queuedController.signal,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(models.stats().endpoints.find((e) => e.endpoint.includes('logreg-v1'))).toMatchObject({
      inFlight: 1,
      queued: 1,
    });

    const aborted = Date.now();
    controller.abort();
    queuedController.abort();
    expect(await backingOff).toMatchObject({ attempts: 1, error: { class: 'cancelled' } });
    expect(await queued).toMatchObject({ attempts: 0, error: { class: 'cancelled' } });
    // The backoff would have lasted ~10 s, the queued call's turn ~5 s.
    expect(Date.now() - aborted).toBeLessThan(250);
    blockerController.abort();
    expect(await blocker).toMatchObject({ attempts: 1, error: { class: 'cancelled' } });
  });

  it('does not send a call whose signal is already aborted', async () => {
    const result = await client().predict(classify(predictEndpoint(), SPAM, AbortSignal.abort()));
    expect(result).toMatchObject({ attempts: 0, error: { class: 'cancelled' } });
    expect(server.stats().requests.total).toBe(0);
  });
});
