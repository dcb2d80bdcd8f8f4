/** The reference model server's fault and drift knobs, over real HTTP. */
import { createModelServer, type ModelServer } from '../../../testkit/modelServer/server';

let server: ModelServer;

beforeAll(async () => {
  server = await createModelServer({ knobs: { seed: 1 } });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.resetKnobs();
  server.resetStats();
});

const predict = (model = 'nb-v1', input = 'Subject: hi\n\nhello') =>
  fetch(server.predictUrl(model), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'x', input }),
  });

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  fetch(`${server.openaiBaseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });

const JUDGE_CASES = [
  ['cheap linux pcs', 'RE: [ILUG] cheap linux PCs'],
  ['meeting moved', 'Re: meeting moved to Tuesday'],
  ['free money', 'Your account statement'],
  ['alsa driver spec', 'Re: alsa-driver.spec tweak for homemade kernels'],
  ['the kernel', 'kernel'],
];

async function judgeScores(extra: Record<string, unknown> = {}): Promise<number[]> {
  const scores: number[] = [];
  for (const [output, reference] of JUDGE_CASES) {
    const res = await chat(
      'judge-v1',
      `Rate it.\n<output>${output}</output>\n<reference>${reference}</reference>`,
      extra,
    );
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    scores.push((JSON.parse(body.choices[0].message.content) as { score: number }).score);
  }
  return scores;
}

describe('reference model server knobs', () => {
  it('errorRate 1 answers every model call with 500', async () => {
    server.setKnobs({ errorRate: 1 });
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => (i % 2 ? await predict() : await chat('nb-v1', 'x')).status),
    );
    expect(statuses).toEqual(Array(10).fill(500));
    expect(server.stats().requests.byStatus).toEqual({ '500': 10 });
  });

  it('rateLimitRate 1 answers 429 with Retry-After in seconds and, when asked, retry-after-ms', async () => {
    server.setKnobs({ rateLimitRate: 1, retryAfterSeconds: 2 });
    const first = await predict();
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(first.headers.get('retry-after-ms')).toBeNull();
    expect(((await first.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    server.setKnobs({ retryAfterMs: 50 });
    const second = await chat('nb-v1', 'x');
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after-ms')).toBe('50');
  });

  it('fault rates are fractions drawn from the seeded sequence, the same on a replay', async () => {
    const run = async () => {
      server.setKnobs({ errorRate: 0.3, rateLimitRate: 0.3, seed: 11 });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await predict()).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500]));
  });

  it('latencyMs delays every answer by at least that much', async () => {
    server.setKnobs({ latencyMs: 150 });
    const started = performance.now();
    await Promise.all([predict(), chat('nb-v1', 'x'), predict()]);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(1500);
  });

  it('down answers 503, or drops the connection in reset mode, and counts both', async () => {
    server.setKnobs({ down: true });
    expect((await predict()).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    server.setKnobs({ downMode: 'reset' });
    await expect(predict()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.stats().requests.byStatus).toEqual({ '503': 1, reset: 1 });
  });

  it('faultModels limits faults to the listed models', async () => {
    server.setKnobs({ errorRate: 1, faultModels: ['judge-v1'] });
    expect((await predict()).status).toBe(200);
    expect((await chat('judge-v1', '<output>a</output><reference>a</reference>')).status).toBe(500);
  });

  it('malformedRate 1 breaks answers the way each protocol can break', async () => {
    server.setKnobs({ malformedRate: 1 });
    const predicted = await predict();
    expect(predicted.status).toBe(200);
    await expect(predicted.json()).rejects.toThrow();
    const label = (await (await chat('nb-v1', 'Classify this email:\nhello')).json()) as {
      choices: { message: { content: string } }[];
    };
    expect(['ham', 'spam']).not.toContain(label.choices[0].message.content);
    const verdict = (await (await chat('judge-v1', '<output>a</output><reference>a</reference>')).json()) as {
      choices: { message: { content: string } }[];
    };
    expect(() => JSON.parse(verdict.choices[0].message.content)).toThrow();
  });

  it('judgeBias shifts every judge score up, clamped at 5', async () => {
    const baseline = await judgeScores();
    expect(baseline).toEqual([4, 3, 1, 3, 4]);
    server.setKnobs({ judgeBias: 1 });
    expect(await judgeScores()).toEqual(baseline.map((s) => Math.min(5, s + 1)));
    server.setKnobs({ judgeBias: -2 });
    expect(await judgeScores()).toEqual(baseline.map((s) => Math.max(1, s - 2)));
  });

  it('judgeNoise moves scores by one, reproducibly for the same request seed', async () => {
    const baseline = await judgeScores({ seed: 3 });
    server.setKnobs({ judgeNoise: 1 });
    const noisy = await judgeScores({ seed: 3 });
    noisy.forEach((score, i) => expect(Math.abs(score - baseline[i]) === 1 || [1, 5].includes(baseline[i])).toBe(true));
    expect(await judgeScores({ seed: 3 })).toEqual(noisy);
  });

  it('takes knobs over HTTP, validates them, and resets them', async () => {
    const set = await fetch(`${server.url}/admin/knobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 5, judgeBias: 1 }),
    });
    expect(await set.json()).toMatchObject({ latencyMs: 5, judgeBias: 1, errorRate: 0 });
    const bad = await fetch(`${server.url}/admin/knobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ errorRate: 3 }),
    });
    expect(bad.status).toBe(400);
    expect(server.knobs().latencyMs).toBe(5);
    await fetch(`${server.url}/admin/knobs/reset`, { method: 'POST' });
    expect(server.knobs()).toMatchObject({ latencyMs: 0, judgeBias: 0 });
  });

  it('tracks calls in flight, at most and on average', async () => {
    server.setKnobs({ latencyMs: 100 });
    server.resetStats();
    const pending = Promise.all(Array.from({ length: 6 }, () => predict()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.stats().concurrency.inFlight).toBe(6);
    await pending;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { concurrency } = server.stats();
    expect(concurrency).toMatchObject({ inFlight: 0, maxInFlight: 6 });
    // Six calls of ~100 ms over the ~200 ms since the reset: about 3 on average, never 6 or 0.
    expect(concurrency.meanInFlight).toBeGreaterThan(1.5);
    expect(concurrency.meanInFlight).toBeLessThan(4.5);
  });

  it('counts the most requests that arrived within one second', async () => {
    server.setKnobs({ latencyMs: 0 });
    server.resetStats();
    await Promise.all(Array.from({ length: 10 }, () => predict()));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // A second later the window holds only the new ones: the most stays 10.
    await Promise.all(Array.from({ length: 3 }, () => predict()));
    expect(server.stats().requests).toMatchObject({ total: 13, maxPerSecond: 10 });
    server.resetStats();
    expect(server.stats().requests.maxPerSecond).toBe(0);
  });
});
