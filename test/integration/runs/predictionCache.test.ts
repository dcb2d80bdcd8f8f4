import { lookupPredictions, storePredictions } from '../../../domain/cache/dal';
import { predictionCacheKey } from '../../../domain/cache/predictionCache';
import { sha256Hex } from '../../../common/canonical';
import { principal, startTestStack, unique, type TestStack } from '../../../testkit/stack';

describe('the prediction cache', () => {
  let stack: TestStack;
  let modelVersionId: string;
  const paramsHash = sha256Hex('{}');

  beforeAll(async () => {
    stack = await startTestStack();
    const team = unique('cache');
    const editor = await principal(stack, 'cache-editor', [{ team, roles: ['editor'] }]);
    const model = await editor.post('/v1/models', { name: unique('cache-model'), ownerTeam: team });
    const version = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
      version: 'v1',
      endpoint: { protocol: 'json-predict', url: 'http://127.0.0.1:9/predict' },
    });
    expect(version.status).toBe(201);
    const { rows } = await stack.pool.query<{ model_version_id: string }>(
      'SELECT model_version_id FROM model_versions WHERE model_id = $1',
      [model.body.modelId],
    );
    modelVersionId = rows[0].model_version_id;
  });
  afterAll(() => stack.close());

  const entry = (input: string, prediction: unknown, usage?: unknown) => {
    const inputHash = sha256Hex(input);
    return { key: predictionCacheKey(modelVersionId, inputHash, paramsHash), inputHash, prediction, usage };
  };
  const expiresIn = (ms: number) => new Date(Date.now() + ms);

  it('stores predictions with their usage and finds them by key, whatever the JSON holds', async () => {
    const awkward = {
      label: 'spam',
      note: 'quotes " and \\ backslashes, {braces}, commas, and ünïcode',
      scores: { ham: 0.25, spam: 0.75 },
    };
    const entries = [
      entry(unique('a'), awkward, { inputTokens: 12, outputTokens: 3 }),
      entry(unique('b'), { label: 'ham' }),
      entry(unique('c'), { label: 'ham' }, null),
    ];
    await storePredictions(stack.pool, modelVersionId, paramsHash, expiresIn(60_000), entries);
    const found = await lookupPredictions(stack.pool, [...entries.map((e) => e.key), sha256Hex(unique('absent'))]);
    expect(found.size).toBe(3);
    expect(found.get(entries[0].key)).toEqual({ prediction: awkward, usage: { inputTokens: 12, outputTokens: 3 } });
    expect(found.get(entries[1].key)).toEqual({ prediction: { label: 'ham' }, usage: null });
    expect(found.get(entries[2].key)).toEqual({ prediction: { label: 'ham' }, usage: null });
    const { rows } = await stack.pool.query(
      'SELECT input_hash, params_hash, model_version_id FROM prediction_cache WHERE cache_key = $1',
      [entries[0].key],
    );
    expect(rows).toEqual([
      { input_hash: entries[0].inputHash, params_hash: paramsHash, model_version_id: modelVersionId },
    ]);
  });

  it('keeps the later expiry when an entry is stored again, and never returns an expired entry', async () => {
    const kept = entry(unique('kept'), { label: 'spam' });
    const expired = entry(unique('expired'), { label: 'ham' });
    await storePredictions(stack.pool, modelVersionId, paramsHash, expiresIn(3_600_000), [kept]);
    await storePredictions(stack.pool, modelVersionId, paramsHash, expiresIn(-1000), [kept, expired]);
    const found = await lookupPredictions(stack.pool, [kept.key, expired.key]);
    expect([...found.keys()]).toEqual([kept.key]);
  });

  it('refuses a key that is not a hex digest instead of sending it', async () => {
    await expect(lookupPredictions(stack.pool, ['abc', 'x"}'])).rejects.toThrow(/not a hex digest/);
  });
});
