import {
  parseChatCompletion,
  parseChatPrediction,
  parsePredictResponse,
  parseRankingText,
  parseUsage,
} from '../../../domain/models/responses';

describe('json-predict answers', () => {
  it('reads a classification label with optional scores', () => {
    expect(parsePredictResponse('classification', { label: 'spam', scores: { ham: 0.1, spam: 0.9 } })).toEqual({
      ok: true,
      value: { label: 'spam', scores: { ham: 0.1, spam: 0.9 } },
    });
    expect(parsePredictResponse('classification', { label: 'ham', extra: 1 })).toEqual({
      ok: true,
      value: { label: 'ham' },
    });
  });

  it('rejects a classification without a label, with an empty label, or with non-numeric scores', () => {
    for (const body of [
      {},
      { label: '' },
      { label: 3 },
      { label: 'spam', scores: { spam: 'high' } },
      { label: 'spam', scores: { ham: 0.2, spam: null } },
      { label: 'x', scores: [0.5] },
      { label: 'x', scores: null },
      null,
      'spam',
      [],
      [{ label: 'spam' }],
    ]) {
      const parsed = parsePredictResponse('classification', body);
      expect(parsed.ok).toBe(false);
    }
    const missing = parsePredictResponse('classification', { lable: 'spam' });
    expect(missing).toEqual({ ok: false, message: expect.stringContaining('label') });
  });

  it('reads a ranking for ranking and retrieval, as strings, each document once', () => {
    expect(parsePredictResponse('ranking', { ranking: ['d2', 'd1'] })).toEqual({
      ok: true,
      value: { ranking: ['d2', 'd1'] },
    });
    expect(parsePredictResponse('retrieval', { ranking: ['a', 7, 'a', 'b'] })).toEqual({
      ok: true,
      value: { ranking: ['a', '7', 'b'] },
    });
    expect(parsePredictResponse('ranking', { ranking: [] })).toEqual({ ok: true, value: { ranking: [] } });
  });

  it('rejects a ranking that is not a list of ids', () => {
    expect(parsePredictResponse('ranking', { ranking: 'd1,d2' }).ok).toBe(false);
    expect(parsePredictResponse('retrieval', { ranking: [{ docId: 'd1' }] }).ok).toBe(false);
    expect(parsePredictResponse('ranking', { docs: ['d1'] }).ok).toBe(false);
  });

  it('reads a generation output, the empty string included', () => {
    expect(parsePredictResponse('generation', { output: 'Meeting moved' })).toEqual({
      ok: true,
      value: { output: 'Meeting moved' },
    });
    expect(parsePredictResponse('generation', { output: '' })).toEqual({ ok: true, value: { output: '' } });
    expect(parsePredictResponse('generation', { output: null }).ok).toBe(false);
    expect(parsePredictResponse('generation', { text: 'x' }).ok).toBe(false);
  });

  it('reads a regression value, and rejects a string or a missing one', () => {
    expect(parsePredictResponse('regression', { value: -1.25 })).toEqual({ ok: true, value: { value: -1.25 } });
    expect(parsePredictResponse('regression', { value: '3' }).ok).toBe(false);
    expect(parsePredictResponse('regression', {}).ok).toBe(false);
    expect(parsePredictResponse('regression', { value: null }).ok).toBe(false);
    expect(parsePredictResponse('generation', [{ output: 'x' }]).ok).toBe(false);
  });
});

describe('usage', () => {
  it('accepts evalgate and OpenAI spellings', () => {
    expect(parseUsage({ usage: { inputTokens: 12, outputTokens: 1 } })).toEqual({ inputTokens: 12, outputTokens: 1 });
    expect(parseUsage({ usage: { prompt_tokens: 21, completion_tokens: 3, total_tokens: 24 } })).toEqual({
      inputTokens: 21,
      outputTokens: 3,
    });
    expect(parseUsage({ usage: { prompt_tokens: 8 } })).toEqual({ inputTokens: 8, outputTokens: 0 });
  });

  it('ignores absent or malformed usage', () => {
    expect(parseUsage({ label: 'x' })).toBeUndefined();
    expect(parseUsage({ usage: { inputTokens: -1, outputTokens: 2 } })).toBeUndefined();
    expect(parseUsage({ usage: { inputTokens: 1.5, outputTokens: 2 } })).toBeUndefined();
    expect(parseUsage({ usage: 'lots' })).toBeUndefined();
    expect(parseUsage(null)).toBeUndefined();
  });
});

describe('openai-chat answers', () => {
  const completion = (content: unknown) => ({
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  });

  it('takes choices[0].message.content as it is', () => {
    expect(parseChatCompletion(completion('  spam \n'))).toEqual({ ok: true, value: '  spam \n' });
  });

  it('rejects a completion without content', () => {
    expect(parseChatCompletion({ choices: [] }).ok).toBe(false);
    expect(parseChatCompletion(completion(null)).ok).toBe(false);
    expect(parseChatCompletion({ error: { message: 'x' } }).ok).toBe(false);
    expect(parseChatCompletion('spam').ok).toBe(false);
  });

  it('turns trimmed content into a prediction per task type', () => {
    expect(parseChatPrediction('classification', ' spam\n')).toEqual({ ok: true, value: { label: 'spam' } });
    expect(parseChatPrediction('generation', '  Re: lunch  ')).toEqual({ ok: true, value: { output: 'Re: lunch' } });
    expect(parseChatPrediction('generation', '')).toEqual({ ok: true, value: { output: '' } });
    expect(parseChatPrediction('regression', ' 4.5 ')).toEqual({ ok: true, value: { value: 4.5 } });
    expect(parseChatPrediction('ranking', '["d3","d1"]')).toEqual({ ok: true, value: { ranking: ['d3', 'd1'] } });
  });

  it('rejects an empty label and a regression reply that is not a finite number', () => {
    expect(parseChatPrediction('classification', '  \n').ok).toBe(false);
    for (const reply of ['', '  ', 'about 4', 'NaN', 'Infinity', '4 stars']) {
      expect(parseChatPrediction('regression', reply).ok).toBe(false);
    }
  });
});

describe('parseRankingText', () => {
  it('reads a JSON array, also inside a code fence', () => {
    expect(parseRankingText('["a", "b", 3]')).toEqual({ ok: true, value: ['a', 'b', '3'] });
    expect(parseRankingText('```json\n["b","a"]\n```')).toEqual({ ok: true, value: ['b', 'a'] });
  });

  it('reads ids separated by commas or newlines, dropping quotes, blanks and repeats', () => {
    expect(parseRankingText('d2, d1 ,d3')).toEqual({ ok: true, value: ['d2', 'd1', 'd3'] });
    expect(parseRankingText('"d2"\n\'d1\'\n\nd2')).toEqual({ ok: true, value: ['d2', 'd1'] });
    expect(parseRankingText('')).toEqual({ ok: true, value: [] });
  });

  it('rejects broken JSON and arrays of non-ids', () => {
    expect(parseRankingText('["a", "b"').ok).toBe(false);
    expect(parseRankingText('[{"docId":"a"}]').ok).toBe(false);
  });
});
