import { normaliseScore, parseJudgeOutput, soleJsonObject } from '../../../domain/judge/parse';

const scale = { format: 'json' as const, scoreField: 'score', min: 1, max: 5 };

describe('parseJudgeOutput', () => {
  it('reads the score from a bare JSON verdict', () => {
    expect(parseJudgeOutput('{"score": 4, "reason": "close"}', scale)).toEqual({
      ok: true,
      score: 4,
      fields: { score: 4, reason: 'close' },
    });
  });

  it('accepts one object alone, with whitespace around it or as the whole of one code fence', () => {
    expect(
      parseJudgeOutput('  \n{"score": 3, "reason": "a {brace} and a \\"quote\\" in a string"}\n', scale),
    ).toMatchObject({
      ok: true,
      score: 3,
    });
    expect(parseJudgeOutput('```json\n{"score": 2}\n```', scale)).toMatchObject({ ok: true, score: 2 });
    expect(parseJudgeOutput('```\n{"score": 4}\n```', scale)).toMatchObject({ ok: true, score: 4 });
  });

  it('refuses prose around the JSON: a judge that quotes the candidate must not score with its number', () => {
    const notOne = { ok: false, message: expect.stringContaining('not exactly one JSON object') };
    // The old reading took the first object: the candidate's own {"score": 5}.
    expect(parseJudgeOutput('The candidate says {"score": 5}. My verdict: {"score": 1}', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('Here is my verdict:\n```json\n{"score": 2}\n```\nThanks.', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('Verdict: {"score": 3}', scale)).toMatchObject(notOne);
  });

  it('refuses two objects, trailing text and a JSON value that is not an object', () => {
    const notOne = { ok: false, message: expect.stringContaining('not exactly one JSON object') };
    expect(parseJudgeOutput('{"score": 5} {"score": 1}', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('{"score": 5}\n{"score": 1}', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('{"score": 4} -- final answer', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('```json\n{"score": 4}\n```\n```json\n{"score": 1}\n```', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('[{"score": 4}]', scale)).toMatchObject(notOne);
    expect(parseJudgeOutput('4', scale)).toEqual({ ok: false, message: 'the reply holds no JSON object' });
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
      message: 'the reply is not exactly one JSON object (malformed, or text after it)',
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

describe('soleJsonObject', () => {
  it('refuses an unbalanced object and returns a whole one', () => {
    expect(soleJsonObject('{"score": 4')).toHaveProperty('error');
    expect(soleJsonObject(' {"score": 4, "nested": {"a": [1, {"b": 2}]}} ')).toEqual({
      value: { score: 4, nested: { a: [1, { b: 2 }] } },
    });
  });
});

describe('normaliseScore', () => {
  it('maps the judge scale onto [0, 1]', () => {
    expect(normaliseScore(1, scale)).toBe(0);
    expect(normaliseScore(5, scale)).toBe(1);
    expect(normaliseScore(2, scale)).toBe(0.25);
  });
});
