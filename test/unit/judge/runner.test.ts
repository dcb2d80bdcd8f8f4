import { BudgetLease, type BudgetStore } from '../../../domain/budgets/lease';
import { JUDGE_SYSTEM_MESSAGE } from '../../../domain/judge/prompt';
import type { JudgeConfig } from '../../../domain/judge/config';
import { createJudgeRunner } from '../../../activities/judge/runner';
import type { ChatInput, ChatResult } from '../../../domain/models/types';

const judge: JudgeConfig = {
  fingerprint: 'fp',
  modelVersionId: 'mv',
  modelVersion: 'judge@v1',
  endpoint: { protocol: 'openai-chat', url: 'http://judge.invalid/v1', model: 'j' },
  pricing: { perCallUsd: 0.01 },
  promptTemplate: '<output>{{output}}</output><reference>{{reference}}</reference>',
  promptHash: 'ph',
  params: { temperature: 0, seed: 5 },
  paramsHash: 'h',
  output: { format: 'json', scoreField: 'score', min: 1, max: 5 },
  repeats: 1,
  pinned: true,
  errorRateLimit: 0.02,
  canary: null,
};

/** A scripted judge endpoint: answers each call with the next reply. */
function scripted(replies: Partial<ChatResult>[]) {
  const calls: ChatInput[] = [];
  return {
    calls,
    chat: async (input: ChatInput): Promise<ChatResult> => {
      calls.push(input);
      const reply = replies[Math.min(calls.length - 1, replies.length - 1)];
      return { attempts: 1, latencyMs: 3, usage: { inputTokens: 10, outputTokens: 5 }, ...reply };
    },
  };
}

const example = { id: 'e1', row: { id: 'e1', input: 'body', reference: 'Hello there' }, output: 'Hello' };

describe('the judge runner', () => {
  it('scores a parseable reply with one call and normalises the score', async () => {
    const endpoint = scripted([{ content: '{"score": 4}' }]);
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: null })(example);
    expect(result.outcome).toMatchObject({ scores: [4], calls: 1, cachedRepeats: 0, costUsd: 0.01 });
    expect(result.judgeScore).toBe(0.75);
    expect(endpoint.calls[0].messages).toEqual([
      { role: 'system', content: JUDGE_SYSTEM_MESSAGE },
      {
        role: 'user',
        content: '<output><candidate_output>"Hello"</candidate_output></output><reference>Hello there</reference>',
      },
    ]);
    expect(result.transcripts).toHaveLength(1);
    expect(result.newEntries).toHaveLength(1);
  });

  it("asks with the judged run's mode, so a release run's judge calls get the endpoint's lanes first", async () => {
    const endpoint = scripted([{ content: '{"score": 4}' }]);
    await createJudgeRunner({ judge, chat: endpoint, lease: null, mode: 'exploratory' })(example);
    await createJudgeRunner({ judge, chat: endpoint, lease: null, mode: 'release' })(example);
    expect(endpoint.calls.map((c) => c.mode)).toEqual(['exploratory', 'release']);
  });

  it('retries an unparseable reply once', async () => {
    const endpoint = scripted([{ content: 'I think it is decent.' }, { content: '{"score": 2}' }]);
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: null })(example);
    expect(result.outcome).toMatchObject({ scores: [2], calls: 2 });
    expect(result.transcripts.map((t) => [t.attempt, t.error === null])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('records a judge_error after a second unparseable reply: no score, both calls priced, nothing cached', async () => {
    const endpoint = scripted([{ content: 'hmm' }, { content: '{"score": 9}' }]);
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: null })(example);
    expect(result.outcome.error).toEqual({
      class: 'judge_error',
      message: expect.stringContaining('after 2 attempts'),
    });
    expect(result.outcome).toMatchObject({ scores: [], calls: 2, costUsd: 0.02 });
    expect(result.judgeScore).toBeUndefined();
    expect(result.newEntries).toEqual([]);
  });

  it('does not repeat a call the model client already retried (transport failure)', async () => {
    const endpoint = scripted([
      { error: { class: 'server_error', message: 'HTTP 500 (after 6 attempts)' }, usage: undefined },
    ]);
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: null })(example);
    expect(endpoint.calls).toHaveLength(1);
    expect(result.outcome).toMatchObject({ calls: 1, costUsd: 0, error: { class: 'judge_error' } });
  });

  it('answers from the cache without a call', async () => {
    const endpoint = scripted([{ content: '{"score": 1}' }]);
    const lookup = async () => ({ score: 5, rawOutput: '{"score": 5}', usage: null });
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: null, lookup })(example);
    expect(endpoint.calls).toHaveLength(0);
    expect(result.outcome).toMatchObject({ scores: [5], calls: 0, cachedRepeats: 1, costUsd: 0 });
    expect(result.transcripts[0]).toMatchObject({ cached: true, parsedScore: 5, rawOutput: '{"score": 5}' });
  });

  it('sends seed + r for repeat r and reports the spread', async () => {
    const endpoint = {
      calls: [] as ChatInput[],
      chat: async (input: ChatInput): Promise<ChatResult> => {
        endpoint.calls.push(input);
        return { attempts: 1, latencyMs: 1, content: JSON.stringify({ score: (input.params.seed as number) - 4 }) };
      },
    };
    const result = await createJudgeRunner({ judge: { ...judge, repeats: 3 }, chat: endpoint, lease: null })(example);
    expect(endpoint.calls.map((c) => c.params.seed).sort()).toEqual([5, 6, 7]);
    expect(result.outcome.scores).toEqual([1, 2, 3]);
    expect(result.outcome.spread).toBe(0.5);
    expect(result.judgeScore).toBeCloseTo(0.25, 12);
  });

  it('skips (budget_exceeded, not a judge error) when the lease is exhausted', async () => {
    const store: BudgetStore = { reserve: async () => 0, giveBack: async () => undefined };
    const endpoint = scripted([{ content: '{"score": 4}' }]);
    const result = await createJudgeRunner({ judge, chat: endpoint, lease: new BudgetLease(store, 'run', 4) })(example);
    expect(endpoint.calls).toHaveLength(0);
    expect(result.outcome).toMatchObject({ skipped: 'budget_exceeded', calls: 0 });
    expect(result.outcome.error).toBeUndefined();
  });
});
