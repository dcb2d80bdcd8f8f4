import { getEventListeners } from 'node:events';
import { onAbort } from '../../../activities/models/cancellation';
import { abortableSleep } from '../../../activities/models/sleep';

describe('onAbort', () => {
  it('puts one listener on the signal however many calls subscribe, and calls each live subscriber once', () => {
    const controller = new AbortController();
    const called: number[] = [];
    const unsubscribes = Array.from({ length: 1000 }, (_, i) => onAbort(controller.signal, () => called.push(i)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (let i = 0; i < 1000; i += 2) unsubscribes[i]();
    controller.abort();
    controller.abort();
    expect(called).toHaveLength(500);
    expect(called.every((i) => i % 2 === 1)).toBe(true);
  });

  it('never calls back for an absent or already aborted signal', () => {
    const callback = jest.fn();
    onAbort(undefined, callback)();
    onAbort(AbortSignal.abort(), callback)();
    expect(callback).not.toHaveBeenCalled();
  });
});

describe('abortableSleep', () => {
  it('resolves true after the delay', async () => {
    const started = Date.now();
    await expect(abortableSleep(30)).resolves.toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
  });

  it('resolves false as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = abortableSleep(10_000, controller.signal);
    setTimeout(() => controller.abort(), 10);
    await expect(sleeping).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(abortableSleep(10, controller.signal)).resolves.toBe(false);
  });
});
