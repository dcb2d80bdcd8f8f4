import { FaultInjector } from '../../../testkit/modelServer/knobs';
import { contentText, extractModelInput } from '../../../testkit/modelServer/prompt';

describe('extractModelInput', () => {
  const input = 'Subject: Hi\n\nHello there.\nSecond line.';

  it('drops an instruction line ending in a colon', () => {
    expect(extractModelInput(`Classify this email as ham or spam:\n${input}`)).toBe(input);
    expect(extractModelInput(`Write a subject line for this email:\n\n${input}`)).toBe(input);
  });

  it('drops an instruction paragraph up to the first blank line', () => {
    expect(extractModelInput(`Classify this email as ham or spam.\nAnswer with one word.\n\n${input}`)).toBe(input);
  });

  it('keeps text that does not start with an instruction', () => {
    expect(extractModelInput(input)).toBe(input);
    expect(extractModelInput('single line')).toBe('single line');
  });

  it('reads string and array message contents', () => {
    expect(contentText('x')).toBe('x');
    expect(contentText([{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }])).toBe('ab');
    expect(contentText(null)).toBe('');
  });
});

describe('FaultInjector', () => {
  it('replays the same faults for the same seed', () => {
    const draws = (seed: number) => {
      const faults = new FaultInjector({ errorRate: 0.3, rateLimitRate: 0.3, seed });
      return Array.from({ length: 50 }, () => faults.draw());
    };
    expect(draws(5)).toEqual(draws(5));
    expect(draws(5)).not.toEqual(draws(6));
  });

  it('restarts the sequence when the seed is set again', () => {
    const faults = new FaultInjector({ errorRate: 0.5, seed: 9 });
    const first = Array.from({ length: 20 }, () => faults.draw());
    faults.update({ seed: 9 });
    expect(Array.from({ length: 20 }, () => faults.draw())).toEqual(first);
  });

  it('always fails at rate 1, never at rate 0', () => {
    const faults = new FaultInjector({ errorRate: 1 });
    expect(new Set(Array.from({ length: 20 }, () => faults.draw()))).toEqual(new Set(['error']));
    faults.update({ errorRate: 0 });
    expect(faults.draw()).toBeUndefined();
  });

  it('rejects out-of-range and unknown knobs and keeps the old ones', () => {
    const faults = new FaultInjector();
    expect(() => faults.update({ errorRate: 2 })).toThrow();
    expect(() => faults.update({ nope: 1 } as never)).toThrow();
    expect(faults.knobs.errorRate).toBe(0);
  });

  it('scopes faults to the listed models', () => {
    const faults = new FaultInjector({ faultModels: ['judge-v1'] });
    expect(faults.appliesTo('judge-v1')).toBe(true);
    expect(faults.appliesTo('nb-v1')).toBe(false);
    faults.reset();
    expect(faults.appliesTo('nb-v1')).toBe(true);
  });

  it('adds jitter within [latencyMs, latencyMs + latencyJitterMs)', () => {
    const faults = new FaultInjector({ latencyMs: 10, latencyJitterMs: 5 });
    for (let i = 0; i < 50; i++) {
      const delay = faults.latency();
      expect(delay).toBeGreaterThanOrEqual(10);
      expect(delay).toBeLessThan(15);
    }
  });
});
