import { firstJsonObject, normaliseScore, parseJudgeOutput } from '../../../domain/judge/parse';

const scale = { format: 'json' as const, scoreField: 'score', min: 1, max: 5 };

describe('parseJudgeOutput', () => {
  it('reads the score from a bare JSON verdict', () => {
    expect(parseJudgeOutput('{"score": 4, "reason": "close"}', scale)).toEqual({
      ok: true,
      score: 4,
      fields: { score: 4, reason: 'close' },
    });
  });

  it('finds the JSON inside prose or a code fence', () => {
    expect(parseJudgeOutput('Here is my verdict:\n```json\n{"score": 2}\n```\nThanks.', scale)).toMatchObject({
      ok: true,
      score: 2,
    });
    expect(parseJudgeOutput('Verdict: {"score": 3, "reason": "a {brace} in a string"} done', scale)).toMatchObject({
      ok: true,
      score: 3,
    });
  });

  it('accepts a numeric string score', () => {
    expect(parseJudgeOutput('{"score": "5"}', scale)).toMatchObject({ ok: true, score: 5 });
  });

  it('refuses prose, malformed JSON, a missing score and a score off the scale', () => {
    expect(parseJudgeOutput('The candidate reads reasonably well.', scale)).toEqual({
      ok: false,
      message: 'the reply holds no JSON object',
    });
    expect(parseJudgeOutput('{"score": 4,}', scale)).toEqual({
      ok: false,
      message: 'the reply holds a malformed JSON object',
    });
    expect(parseJudgeOutput('{"rating": 4}', scale)).toMatchObject({
      ok: false,
      message: expect.stringContaining('score'),
    });
    expect(parseJudgeOutput('{"score": 7}', scale)).toMatchObject({
      ok: false,
      message: expect.stringContaining('above the scale maximum 5'),
    });
    expect(parseJudgeOutput('{"score": 0}', scale)).toMatchObject({
      ok: false,
      message: expect.stringContaining('below the scale minimum 1'),
    });
  });

  it("requires the schema's required fields", () => {
    const withReason = { ...scale, requiredFields: ['reason'] };
    expect(parseJudgeOutput('{"score": 4}', withReason)).toMatchObject({
      ok: false,
      message: expect.stringContaining('reason'),
    });
    expect(parseJudgeOutput('{"score": 4, "reason": "ok"}', withReason)).toMatchObject({ ok: true, score: 4 });
  });

  it('uses the configured score field', () => {
    expect(parseJudgeOutput('{"grade": 0.75}', { format: 'json', scoreField: 'grade', min: 0, max: 1 })).toMatchObject({
      ok: true,
      score: 0.75,
    });
  });
});

describe('firstJsonObject', () => {
  it('returns undefined for an unbalanced object', () => {
    expect(firstJsonObject('{"score": 4')).toBeUndefined();
  });
});

describe('normaliseScore', () => {
  it('maps the judge scale onto [0, 1]', () => {
    expect(normaliseScore(1, scale)).toBe(0);
    expect(normaliseScore(5, scale)).toBe(1);
    expect(normaliseScore(2, scale)).toBe(0.25);
  });
});
