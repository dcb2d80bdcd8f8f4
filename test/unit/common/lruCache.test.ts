import { LruCache } from '../../../common/lruCache';

describe('LruCache', () => {
  it('never holds more than its maximum, dropping the least recently used', () => {
    const cache = new LruCache<number>(3);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i, 60_000);
    expect(cache.size).toBe(3);
    expect([cache.get('k9997'), cache.get('k0')]).toEqual([9997, undefined]);
    cache.set('new', 1, 60_000); // k9997 was just read, so k9998 goes
    expect([cache.get('k9997'), cache.get('k9998'), cache.get('k9999'), cache.get('new')]).toEqual([
      9997,
      undefined,
      9999,
      1,
    ]);
  });

  it('forgets an entry when its time is up, and on delete', () => {
    let now = 1_000;
    const cache = new LruCache<string>(10, () => now);
    cache.set('short', 'a', 100);
    cache.set('long', 'b', 5_000);
    cache.set('none', 'c', 0);
    now += 100;
    expect([cache.get('short'), cache.get('long'), cache.get('none')]).toEqual([undefined, 'b', undefined]);
    expect(cache.size).toBe(1);
    cache.delete('long');
    expect(cache.get('long')).toBeUndefined();
  });
});
