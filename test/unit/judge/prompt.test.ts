import {
  judgeCacheKey,
  outputHash,
  paramsForRepeat,
  referenceHash,
  renderJudgePrompt,
} from '../../../domain/judge/prompt';

const template = 'Rate 1-5.\n<output>{{output}}</output>\n<reference>{{reference}}</reference>';
const judge = { modelVersionId: 'mv-1', promptHash: 'p', paramsHash: 'h' };

describe('judge prompts and cache keys', () => {
  it('renders the row and the candidate output into the template', () => {
    expect(renderJudgePrompt(template, { id: 'r1', input: 'body', reference: 'Hello' }, 'Hi there')).toBe(
      'Rate 1-5.\n<output>Hi there</output>\n<reference>Hello</reference>',
    );
  });

  it('keys a judgement by output, the row fields the template uses, and the repeat', () => {
    const row = { id: 'r1', input: 'body', reference: 'Hello' };
    const parts = { outputHash: outputHash('Hi'), referenceHash: referenceHash(template, row), repeat: 0 };
    const key = judgeCacheKey(judge, parts);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    // Fields the template does not use (input, id) do not change the key; the reference, the output and the repeat do.
    expect(
      judgeCacheKey(judge, { ...parts, referenceHash: referenceHash(template, { ...row, id: 'r2', input: 'other' }) }),
    ).toBe(key);
    expect(
      judgeCacheKey(judge, { ...parts, referenceHash: referenceHash(template, { ...row, reference: 'Bye' }) }),
    ).not.toBe(key);
    expect(judgeCacheKey(judge, { ...parts, outputHash: outputHash('Ho') })).not.toBe(key);
    expect(judgeCacheKey(judge, { ...parts, repeat: 1 })).not.toBe(key);
    expect(judgeCacheKey({ ...judge, paramsHash: 'other' }, parts)).not.toBe(key);
    expect(judgeCacheKey({ ...judge, modelVersionId: 'mv-2' }, parts)).not.toBe(key);
  });

  it('varies an integer seed per repeat and leaves everything else as pinned', () => {
    const params = { temperature: 0, seed: 7 };
    expect(paramsForRepeat(params, 0)).toBe(params);
    expect(paramsForRepeat(params, 2)).toEqual({ temperature: 0, seed: 9 });
    expect(paramsForRepeat({ temperature: 0 }, 2)).toEqual({ temperature: 0 });
  });
});
