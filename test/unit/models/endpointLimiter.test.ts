import { EndpointLimiters, endpointLabel, FairSemaphore, RatePacer } from '../../../activities/models/endpointLimiter';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FairSemaphore', () => {
  it('grants up to the limit at once, then in arrival order', async () => {
    const semaphore = new FairSemaphore(2);
    expect(semaphore.acquire()).toBe(true);
    expect(semaphore.acquire()).toBe(true);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => Promise.resolve(semaphore.acquire()).then(() => order.push(n)));
    expect(semaphore.queued).toBe(3);
    semaphore.release();
    await tick();
    // A newcomer joins the back of the queue.
    const late = Promise.resolve(semaphore.acquire()).then(() => order.push(4));
    semaphore.release();
    semaphore.release();
    await tick();
    semaphore.release();
    await Promise.all([...waiting, late]);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(semaphore.inFlight).toBe(2);
  });

  it('drops a waiter whose signal aborts, and gives its turn to the next', async () => {
    const semaphore = new FairSemaphore(1);
    void semaphore.acquire();
    const controller = new AbortController();
    const abandoned = semaphore.acquire(controller.signal);
    const next = semaphore.acquire();
    controller.abort();
    await expect(abandoned).resolves.toBe(false);
    expect(semaphore.queued).toBe(1);
    semaphore.release();
    await expect(next).resolves.toBe(true);
    expect(semaphore.inFlight).toBe(1);
  });

  it('applies a lowered limit as permits come back, and a raised one at once', async () => {
    const semaphore = new FairSemaphore(3);
    for (let i = 0; i < 3; i++) void semaphore.acquire();
    semaphore.setLimit(1);
    let granted = false;
    void Promise.resolve(semaphore.acquire()).then(() => (granted = true));
    semaphore.release();
    semaphore.release();
    await tick();
    expect(granted).toBe(false);
    semaphore.release();
    await tick();
    expect(granted).toBe(true);
    semaphore.setLimit(4);
    expect(semaphore.acquire()).toBe(true);
  });
  it('grants waiting release calls before waiting exploratory ones, each in arrival order', async () => {
    const semaphore = new FairSemaphore(1);
    expect(semaphore.acquire(undefined, 'exploratory')).toBe(true);
    const order: string[] = [];
    const wait = (name: string, priority: 'release' | 'exploratory') =>
      Promise.resolve(semaphore.acquire(undefined, priority)).then(() => order.push(name));
    const waiting = [
      wait('x1', 'exploratory'),
      wait('x2', 'exploratory'),
      wait('r1', 'release'),
      wait('x3', 'exploratory'),
      wait('r2', 'release'),
    ];
    expect(semaphore.queued).toBe(5);
    semaphore.release();
    await tick();
    // A release call arriving while exploratory ones wait still goes before them, behind r2.
    waiting.push(wait('r3', 'release'));
    for (let i = 0; i < 5; i++) {
      semaphore.release();
      await tick();
    }
    await Promise.all(waiting);
    expect(order).toEqual(['r1', 'r2', 'r3', 'x1', 'x2', 'x3']);
    expect(semaphore.queued).toBe(0);
    expect(semaphore.inFlight).toBe(1);
  });

  it('serves a caller that names no priority as release work, and skips a release waiter that gave up', async () => {
    const semaphore = new FairSemaphore(1);
    void semaphore.acquire();
    const order: string[] = [];
    const explore = Promise.resolve(semaphore.acquire(undefined, 'exploratory')).then(() => order.push('x'));
    const controller = new AbortController();
    const abandoned = semaphore.acquire(controller.signal, 'release');
    const unnamed = Promise.resolve(semaphore.acquire()).then(() => order.push('default'));
    controller.abort();
    await expect(abandoned).resolves.toBe(false);
    semaphore.release();
    await tick();
    semaphore.release();
    await Promise.all([explore, unnamed]);
    expect(order).toEqual(['default', 'x']);
  });

  it("keeps a permit a release call gives back for that run's next call in the same turn", async () => {
    const semaphore = new FairSemaphore(1);
    expect(semaphore.acquire(undefined, 'release')).toBe(true);
    let exploratoryGranted = false;
    const exploratory = Promise.resolve(semaphore.acquire(undefined, 'exploratory')).then(
      () => (exploratoryGranted = true),
    );
    // The release lane's next call comes back in the same turn: it gets the permit at once.
    semaphore.release('release');
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.acquire(undefined, 'release')).toBe(true);
    await tick();
    expect(exploratoryGranted).toBe(false);
    // No release call comes back this time: the exploratory waiter gets the permit after the turn.
    semaphore.release('release');
    expect(exploratoryGranted).toBe(false);
    await exploratory;
    expect(exploratoryGranted).toBe(true);
    expect(semaphore.inFlight).toBe(1);
    // An exploratory call's permit goes straight to the next waiter: nothing is kept for it.
    const next = semaphore.acquire(undefined, 'exploratory');
    semaphore.release('exploratory');
    await expect(next).resolves.toBe(true);
  });

  it('admits release waiters first through an endpoint limiter too', async () => {
    const limiters = new EndpointLimiters();
    const limiter = limiters.forEndpoint(
      { protocol: 'json-predict', url: 'http://model.test/p', maxConcurrency: 2 },
      8,
    );
    expect(limiter.admit(undefined, 'exploratory')).toBe(true);
    expect(limiter.admit(undefined, 'exploratory')).toBe(true);
    const order: string[] = [];
    const queued = [
      ...['x1', 'x2', 'x3'].map((n) =>
        Promise.resolve(limiter.admit(undefined, 'exploratory')).then(() => order.push(n)),
      ),
      ...['r1', 'r2'].map((n) => Promise.resolve(limiter.admit(undefined, 'release')).then(() => order.push(n))),
    ];
    for (let i = 0; i < 5; i++) {
      limiter.release();
      await tick();
    }
    await Promise.all(queued);
    expect(order).toEqual(['r1', 'r2', 'x1', 'x2', 'x3']);
  });
});

describe('RatePacer', () => {
  it('lets a burst through, then spaces requests by 1/rate', () => {
    const pacer = new RatePacer(10, 3);
    const now = 1_000_000;
    expect([0, 1, 2, 3, 4].map(() => pacer.reserve(now))).toEqual([0, 0, 0, 100, 200]);
  });

  it('refills while idle, up to the burst', () => {
    const pacer = new RatePacer(10, 2);
    const now = 1_000_000;
    pacer.reserve(now);
    pacer.reserve(now);
    expect(pacer.reserve(now + 10_000)).toBe(0);
    expect(pacer.reserve(now + 10_000)).toBe(0);
    expect(pacer.reserve(now + 10_000)).toBe(100);
  });

  it('holds a sustained rate over a long run', () => {
    const pacer = new RatePacer(50);
    const now = 1_000_000;
    const waits = Array.from({ length: 550 }, () => pacer.reserve(now));
    // 50 in the first burst, then 500 more at 20 ms apart.
    expect(waits[549]).toBeCloseTo(500 * 20, 6);
  });
});

describe('EndpointLimiters', () => {
  const endpoint = { protocol: 'json-predict' as const, url: 'http://models.internal:8080/predict/nb-v1' };

  it('shares one limiter per protocol + url + model, with the strictest declared limit', () => {
    const limiters = new EndpointLimiters();
    const a = limiters.forEndpoint({ ...endpoint, maxConcurrency: 8 }, 16);
    const b = limiters.forEndpoint({ ...endpoint, maxConcurrency: 4 }, 16);
    expect(b).toBe(a);
    expect(a.semaphore.limit).toBe(4);
    expect(limiters.forEndpoint({ ...endpoint, model: 'other' }, 16)).not.toBe(a);
    expect(limiters.forEndpoint({ ...endpoint, protocol: 'openai-chat' }, 16)).not.toBe(a);
  });

  it('lets a strict declaration lapse once its callers stop repeating it', () => {
    const limiters = new EndpointLimiters();
    const limiter = limiters.forEndpoint({ ...endpoint, maxConcurrency: 2 }, 16);
    limiter.declare(32, undefined);
    expect(limiter.semaphore.limit).toBe(2);
    limiter.declare(32, undefined, Date.now() + 6 * 60_000);
    expect(limiter.semaphore.limit).toBe(32);
  });

  it('paces admissions when maxRps is set', async () => {
    const limiters = new EndpointLimiters();
    const limiter = limiters.forEndpoint({ ...endpoint, url: 'http://paced', maxRps: 20 }, 16);
    const started = Date.now();
    for (let i = 0; i < 25; i++) {
      expect(await limiter.admit()).toBe(true);
      limiter.release();
    }
    // 20 in the burst, 5 more at 50 ms apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(limiter.stats()).toMatchObject({ maxRps: 20, inFlight: 0, queued: 0 });
  });

  it('paces admissions smoothly at the adaptive rate once a round trip is mostly refused, under the declared maxRps', async () => {
    const limiter = new EndpointLimiters().forEndpoint({ ...endpoint, url: 'http://adaptive', maxRps: 1000 }, 64);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const batch = async (n: number, kind: 'ok' | 'rate_limited') => {
      const sent: number[] = [];
      for (let i = 0; i < n; i++) {
        expect(await limiter.admit()).toBe(true);
        sent.push(limiter.sent());
      }
      await sleep(30);
      for (const at of sent) {
        limiter.replied(at, kind, kind === 'rate_limited' ? 100 : undefined);
        limiter.release();
      }
    };
    await batch(20, 'ok');
    expect(limiter.stats().pacedRps).toBeUndefined();
    await sleep(100);
    await batch(32, 'rate_limited');
    // 20 accepted in the last second: paced at 0.9 × 20/s, after a pause of the Retry-After (100 ms).
    expect(limiter.stats()).toMatchObject({ paused: true, pacedRps: 18, maxRps: 1000 });
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      expect(await limiter.admit()).toBe(true);
      limiter.release();
    }
    // The pause, then one request every 1/18 s: no burst after the pause.
    expect(Date.now() - started).toBeGreaterThanOrEqual(90 + 8 * (1000 / 18));
    expect(limiter.stats().pacedRps).toBe(18);
  });

  it('holds admissions while the endpoint is paused, and a paused wait can be aborted', async () => {
    const limiter = new EndpointLimiters().forEndpoint(endpoint, 4);
    limiter.pause(150);
    const started = Date.now();
    expect(await limiter.admit()).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    limiter.release();
    limiter.pause(10_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    expect(await limiter.admit(controller.signal)).toBe(false);
    expect(limiter.semaphore.inFlight).toBe(0);
  });

  it('labels endpoints without credentials or query strings', () => {
    expect(
      endpointLabel({
        protocol: 'openai-chat',
        url: 'https://user:secret@api.example.com/v1?api_key=sk-123',
        model: 'gpt',
      }),
    ).toBe('openai-chat https://api.example.com/v1 gpt');
    expect(endpointLabel({ protocol: 'json-predict', url: 'not a url' })).toBe('json-predict (unparseable url)');
  });
});
