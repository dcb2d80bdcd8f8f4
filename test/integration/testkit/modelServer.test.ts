/**
 * The reference model server over real HTTP: both protocols' shapes, model quality
 * on the held-out split, and the request counter.
 */
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';
import { classificationRows, type ClassificationRow } from '../../../testkit/corpus/writeDatasets';

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

async function postJson(url: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  postJson(`${server.openaiBaseUrl}/chat/completions`, { model, messages: [{ role: 'user', content }], ...extra });

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]);
    }),
  );
  return results;
}

describe('reference model server protocols', () => {
  it('answers health and lists its models in the OpenAI shape', async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true, models: 7 });
    const list = (await (await fetch(`${server.openaiBaseUrl}/models`)).json()) as {
      object: string;
      data: { id: string; object: string }[];
    };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual([
      'nb-v1',
      'logreg-v1',
      'keywords-v1',
      'nb-small-v1',
      'lead-v1',
      'keywords-gen-v1',
      'judge-v1',
    ]);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: 'evalgate-examples', created: expect.any(Number) });
  });

  it('json-predict: a classifier answers a label, probabilities summing to 1, and usage', async () => {
    const res = await postJson(server.predictUrl('nb-v1'), {
      id: 'r1',
      input: 'Subject: FREE money\n\nClick here to claim your cash prize now!!!',
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['label', 'scores', 'usage']);
    expect(res.body.label).toBe('spam');
    expect(res.body.scores.ham + res.body.scores.spam).toBeCloseTo(1, 6);
    expect(res.body.scores.spam).toBeGreaterThan(0.5);
    expect(res.body.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: 1 });
  });

  it('json-predict: a generator answers { output }', async () => {
    const res = await postJson(server.predictUrl('lead-v1'), {
      id: 'g1',
      input: 'The build is broken again. Please look.',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ output: 'The build is broken again.', usage: { inputTokens: 10, outputTokens: 7 } });
  });

  it('openai-chat: answers the real chat.completion shape with the label as content', async () => {
    const [row] = classificationRows({ tags: ['easy-ham'], limit: 1 });
    const res = await chat('logreg-v1', `Classify this email as ham or spam:\n${row.input}`, {
      temperature: 0,
      seed: 1,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'logreg-v1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ham' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: 1, total_tokens: expect.any(Number) },
    });
    expect(res.body.usage.total_tokens).toBe(res.body.usage.prompt_tokens + 1);
  });

  it('openai-chat answers exactly what json-predict answers once the instruction is stripped', async () => {
    const rows = [...classificationRows({ limit: 40 })];
    for (const model of ['nb-v1', 'keywords-v1']) {
      const viaPredict = await mapLimit(
        rows,
        8,
        async (row) => (await postJson(server.predictUrl(model), { id: row.id, input: row.input })).body.label,
      );
      const viaChat = await mapLimit(
        rows,
        8,
        async (row) =>
          (await chat(model, `Classify this email as ham or spam.\n\n${row.input}`)).body.choices[0].message.content,
      );
      expect(viaChat).toEqual(viaPredict);
    }
  });

  it('openai-chat: a generator answers a subject line and honours max_tokens', async () => {
    const res = await chat(
      'keywords-gen-v1',
      'Write a subject line for this email:\nThe kernel build of the linux kernel fails on alpha.',
    );
    expect(res.body.choices[0].message.content).toBe('kernel alpha fails build linux');
    const cut = await chat(
      'keywords-gen-v1',
      'Write a subject line for this email:\nThe kernel build of the linux kernel fails on alpha.',
      { max_tokens: 2 },
    );
    expect(cut.body.choices[0]).toMatchObject({ message: { content: 'kernel a' }, finish_reason: 'length' });
  });

  it('judge-v1 answers {"score", "reason"} JSON from <output> and <reference>', async () => {
    const res = await chat(
      'judge-v1',
      'Score the subject line from 1 to 5.\n<output>cheap linux pcs</output>\n<reference>RE: [ILUG] cheap linux PCs</reference>',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.choices[0].message.content)).toEqual({
      score: 4,
      reason: 'token F1 0.75 between output and reference',
    });
  });

  it('rejects unknown models, bad bodies and judge prompts without the tags', async () => {
    expect((await postJson(server.predictUrl('nope'), { input: 'x' })).body.error).toMatchObject({
      code: 'model_not_found',
    });
    expect((await postJson(server.predictUrl('nb-v1'), { text: 'x' })).status).toBe(400);
    expect((await postJson(server.predictUrl('judge-v1'), { input: 'x' })).status).toBe(400);
    expect((await chat('judge-v1', 'Output: a\nReference: b')).body.error).toMatchObject({ code: 'judge_prompt' });
    const badJson = await fetch(`${server.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(badJson.status).toBe(400);
  });
});

describe('reference model quality on the held-out split', () => {
  let rows: ClassificationRow[];
  const accuracy: Record<string, Record<string, number>> = {};

  beforeAll(async () => {
    rows = [...classificationRows({ split: 'heldout' })];
    for (const model of ['nb-v1', 'nb-small-v1', 'keywords-v1']) {
      const labels = await mapLimit(
        rows,
        16,
        async (row) =>
          (await postJson(server.predictUrl(model), { id: row.id, input: row.input })).body.label as string,
      );
      const correct: Record<string, [number, number]> = {};
      rows.forEach((row, i) => {
        for (const slice of ['all', row.tags[0]]) {
          correct[slice] ??= [0, 0];
          correct[slice][0] += labels[i] === row.label ? 1 : 0;
          correct[slice][1]++;
        }
      });
      accuracy[model] = Object.fromEntries(Object.entries(correct).map(([slice, [hit, n]]) => [slice, hit / n]));
    }
  });

  it('nb-v1 is accurate overall (> 0.9) and on every slice', () => {
    expect(accuracy['nb-v1'].all).toBeGreaterThan(0.95);
    expect(accuracy['nb-v1']['easy-ham']).toBeGreaterThan(0.98);
    expect(accuracy['nb-v1'].spam).toBeGreaterThan(0.9);
    expect(accuracy['nb-v1']['hard-ham']).toBeGreaterThan(0.7);
  });

  it('nb-small-v1 and keywords-v1 are clearly worse on hard-ham', () => {
    expect(accuracy['nb-small-v1']['hard-ham']).toBeLessThan(accuracy['nb-v1']['hard-ham'] - 0.1);
    expect(accuracy['keywords-v1']['hard-ham']).toBeLessThan(accuracy['nb-v1']['hard-ham'] - 0.3);
    expect(accuracy['keywords-v1'].all).toBeLessThan(accuracy['nb-v1'].all);
  });
});

describe('request counter', () => {
  it('counts every call to a model route by model, status and route, and resets', async () => {
    await postJson(server.predictUrl('nb-v1'), { id: '1', input: 'hello' });
    await postJson(server.predictUrl('nb-v1'), { id: '2', input: 'hello' });
    await chat('lead-v1', 'Write a subject line for this email:\nHello all.');
    await postJson(server.predictUrl('nope'), { input: 'x' });
    server.setKnobs({ errorRate: 1 });
    await chat('judge-v1', '<output>a</output><reference>a</reference>');
    await fetch(`${server.url}/healthz`);

    const stats = (await (await fetch(`${server.url}/admin/stats`)).json()) as ReturnType<ModelServer['stats']>;
    expect(stats.requests).toEqual({
      total: 5,
      byModel: { 'nb-v1': 2, 'lead-v1': 1, nope: 1, 'judge-v1': 1 },
      byStatus: { '200': 3, '404': 1, '500': 1 },
      byRoute: { predict: 3, chat: 2 },
      // The busiest second: 1 to 5 of the 5 calls, however the machine spread them.
      maxPerSecond: expect.any(Number),
    });
    expect(stats.requests.maxPerSecond).toBeGreaterThanOrEqual(1);
    expect(stats.requests.maxPerSecond).toBeLessThanOrEqual(5);
    expect(stats.tokens.prompt).toBeGreaterThan(0);
    expect(stats.concurrency.inFlight).toBe(0);

    await postJson(`${server.url}/admin/stats/reset`, {});
    expect(server.stats().requests.total).toBe(0);
  });
});

describe('arrival log', () => {
  it('logs model calls in arrival order with their row ids only while recordArrivals is on, and clears with the counters', async () => {
    await postJson(server.predictUrl('nb-v1'), { id: 'before', input: 'hello' });
    server.setKnobs({ recordArrivals: true });
    const started = Date.now();
    await postJson(server.predictUrl('nb-v1'), { id: 'a-1', input: 'hello' });
    await postJson(server.predictUrl('keywords-v1'), { id: 7, input: 'hello' });
    await chat('lead-v1', 'Write a subject line for this email:\nHello all.');

    const log = (await (await fetch(`${server.url}/admin/arrivals`)).json()) as ReturnType<ModelServer['arrivals']>;
    expect(log.dropped).toBe(0);
    expect(log.arrivals.map(({ model, id }) => ({ model, id }))).toEqual([
      { model: 'nb-v1', id: 'a-1' },
      { model: 'keywords-v1', id: '7' },
      { model: 'lead-v1', id: undefined },
    ]);
    const times = log.arrivals.map((a) => a.at);
    expect(times[0]).toBeGreaterThanOrEqual(started - 1);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    server.resetStats();
    expect(server.arrivals().arrivals).toEqual([]);
  });
});
