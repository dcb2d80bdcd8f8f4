import { nestedDeeperThan } from '../../../api/http/jsonBody';

const nested = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;

describe('nestedDeeperThan', () => {
  it('counts objects and arrays from the top level as 1, and only past the limit', () => {
    expect(nestedDeeperThan({ a: [[1]] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [[[1]]] }, 3)).toBe(true);
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(
      nestedDeeperThan(
        Array.from({ length: 1000 }, () => []),
        2,
      ),
    ).toBe(false);
  });

  it('does not count strings, numbers or null, whatever they contain', () => {
    expect(nestedDeeperThan('[[[[{{{{', 0)).toBe(false);
    expect(nestedDeeperThan({ a: '[[[[', b: null, c: 1 }, 1)).toBe(false);
    expect(nestedDeeperThan(undefined, 0)).toBe(false);
  });

  it('walks a value of 200,000 levels without recursing', () => {
    expect(nestedDeeperThan(nested(200_000), 32)).toBe(true);
    expect(nestedDeeperThan(nested(32), 32)).toBe(false);
  });
});
