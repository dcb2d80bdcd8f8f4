import { jsonDepthExceeds } from '../../../api/http/jsonBody';

const depthOver = (text: string, max: number) => jsonDepthExceeds(Buffer.from(text), max);

describe('jsonDepthExceeds', () => {
  it('counts objects and arrays, and only past the limit', () => {
    expect(depthOver('{"a":[[1]]}', 3)).toBe(false);
    expect(depthOver('{"a":[[[1]]]}', 3)).toBe(true);
    expect(depthOver('[]'.repeat(1000), 1)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(depthOver('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(depthOver('{"a":"\\"[[[[","b":1}', 1)).toBe(false);
    expect(depthOver('{"a":"\\\\","b":[[1]]}', 2)).toBe(true);
  });

  it('reads a million brackets without recursing', () => {
    expect(depthOver('['.repeat(1_000_000), 32)).toBe(true);
  });
});
