/**
 * Judging one candidate output: every repeat answered from the judge cache or by a call
 * through the shared model client (so judge calls share the endpoint's concurrency and
 * rate limits and its retries), under the run's budget. An unparseable reply gets one
 * more call; a second failure makes the example a `judge_error` — recorded, counted,
 * never scored as zero. Every call, and every cache hit, leaves a transcript.
 */
import type { JudgeOutcome, JudgeTranscript } from '../../domain/judge/types';
import type { BudgetLease } from '../../domain/budgets/lease';
import { costOf, CostEstimator, type TokenUsage } from '../../domain/budgets/estimate';
import type { ChatInput, ChatResult } from '../../domain/models/types';
import type { CachedJudgement, NewJudgement } from '../../domain/judge/dal';
import type { JudgeConfig } from '../../domain/judge/config';
import type { RunMode } from '../../common/names';
import { normaliseScore, parseJudgeOutput } from '../../domain/judge/parse';
import {
  judgeCacheKey,
  outputHash,
  paramsForRepeat,
  referenceHash,
  JUDGE_SYSTEM_MESSAGE,
  renderJudgePrompt,
} from '../../domain/judge/prompt';

export interface JudgeChat {
  chat(input: ChatInput): Promise<ChatResult>;
}

export interface JudgeResult {
  outcome: JudgeOutcome;
  /** Mean normalised score, when every repeat parsed: the metrics library's judge_score input. */
  judgeScore?: number;
  transcripts: JudgeTranscript[];
  newEntries: NewJudgement[];
}

export interface JudgeRunnerDeps {
  judge: JudgeConfig;
  chat: JudgeChat;
  /** Judge-cache reads; omitted for the drift canary, which must ask the judge live. */
  lookup?: (key: string) => Promise<CachedJudgement | undefined>;
  lease: BudgetLease | null;
  /** The mode of the run being judged: its judge calls wait behind release work only when exploratory (default release). */
  mode?: RunMode;
}

type RepeatOutcome = { kind: 'score'; score: number } | { kind: 'error'; message: string } | { kind: 'skipped' };

const ATTEMPTS_PER_REPEAT = 2;

export function createJudgeRunner(deps: JudgeRunnerDeps) {
  const { judge } = deps;
  const estimator = new CostEstimator(judge.pricing, judge.params);

  return async function judgeOne(input: {
    id: string;
    row: Record<string, unknown>;
    output: string;
    signal?: AbortSignal;
  }): Promise<JudgeResult> {
    const prompt = renderJudgePrompt(judge.promptTemplate, input.row, input.output);
    const keyParts = {
      outputHash: outputHash(input.output),
      referenceHash: referenceHash(judge.promptTemplate, input.row),
    };
    const transcripts: JudgeTranscript[] = [];
    const newEntries: NewJudgement[] = [];
    const outcome: JudgeOutcome = { scores: [], calls: 0, cachedRepeats: 0, costUsd: 0 };
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };

    const transcript = (
      repeat: number,
      attempt: number,
      params: Record<string, unknown>,
      t: Partial<JudgeTranscript>,
    ): JudgeTranscript => ({
      exampleId: input.id,
      repeat,
      attempt,
      cached: false,
      judgeModelVersion: judge.modelVersion,
      judgeFingerprint: judge.fingerprint,
      promptHash: judge.promptHash,
      params,
      prompt,
      rawOutput: null,
      parsedScore: null,
      normalisedScore: null,
      error: null,
      latencyMs: 0,
      usage: null,
      costUsd: 0,
      ...t,
    });

    async function judgeRepeat(repeat: number): Promise<RepeatOutcome> {
      const params = paramsForRepeat(judge.params, repeat);
      const key = judgeCacheKey(judge, { ...keyParts, repeat });
      const hit = deps.lookup ? await deps.lookup(key) : undefined;
      if (hit) {
        outcome.cachedRepeats += 1;
        transcripts.push(
          transcript(repeat, 0, params, {
            cached: true,
            rawOutput: hit.rawOutput,
            parsedScore: hit.score,
            normalisedScore: normaliseScore(hit.score, judge.output),
            usage: hit.usage,
          }),
        );
        return { kind: 'score', score: hit.score };
      }
      let lastError = 'no attempt made';
      for (let attempt = 1; attempt <= ATTEMPTS_PER_REPEAT; attempt++) {
        const estimate = estimator.estimate(prompt.length);
        const permit = deps.lease ? await deps.lease.acquire(estimate) : null;
        if (deps.lease && !permit) return { kind: 'skipped' };
        const reply = await deps.chat.chat({
          endpoint: judge.endpoint,
          messages: [
            { role: 'system', content: JUDGE_SYSTEM_MESSAGE },
            { role: 'user', content: prompt },
          ],
          params,
          signal: input.signal,
          mode: deps.mode,
        });
        const callCost = reply.error && !reply.usage ? 0 : costOf(judge.pricing, reply.usage);
        if (permit) deps.lease!.settle(permit, callCost);
        estimator.observe(reply.usage);
        outcome.calls += 1;
        outcome.costUsd += callCost;
        if (reply.usage) {
          usage.inputTokens += reply.usage.inputTokens;
          usage.outputTokens += reply.usage.outputTokens;
        }
        const base = { latencyMs: reply.latencyMs, usage: reply.usage ?? null, costUsd: callCost };
        if (reply.content === undefined) {
          // Transport failures were already retried by the model client; another call would not help.
          lastError = `${reply.error?.class ?? 'bad_response'}: ${reply.error?.message ?? 'no content'}`;
          transcripts.push(transcript(repeat, attempt, params, { ...base, error: lastError }));
          return { kind: 'error', message: lastError };
        }
        const parsed = parseJudgeOutput(reply.content, judge.output);
        if (parsed.ok) {
          transcripts.push(
            transcript(repeat, attempt, params, {
              ...base,
              rawOutput: reply.content,
              parsedScore: parsed.score,
              normalisedScore: normaliseScore(parsed.score, judge.output),
            }),
          );
          newEntries.push({
            key,
            ...keyParts,
            repeat,
            promptHash: judge.promptHash,
            paramsHash: judge.paramsHash,
            score: parsed.score,
            rawOutput: reply.content,
            usage: reply.usage ?? null,
          });
          return { kind: 'score', score: parsed.score };
        }
        lastError = `unparseable judge output: ${parsed.message}`;
        transcripts.push(transcript(repeat, attempt, params, { ...base, rawOutput: reply.content, error: lastError }));
      }
      return { kind: 'error', message: `${lastError} (after ${ATTEMPTS_PER_REPEAT} attempts)` };
    }

    const repeats = await Promise.all(Array.from({ length: judge.repeats }, (_, r) => judgeRepeat(r)));
    if (usage.inputTokens || usage.outputTokens) outcome.usage = usage;
    transcripts.sort((a, b) => a.repeat - b.repeat || a.attempt - b.attempt);
    if (repeats.some((r) => r.kind === 'skipped'))
      return { outcome: { ...outcome, skipped: 'budget_exceeded' }, transcripts, newEntries };
    const failed = repeats.find((r): r is Extract<RepeatOutcome, { kind: 'error' }> => r.kind === 'error');
    if (failed)
      return {
        outcome: { ...outcome, error: { class: 'judge_error', message: failed.message } },
        transcripts,
        newEntries,
      };
    const scores = repeats.map((r) => (r as Extract<RepeatOutcome, { kind: 'score' }>).score);
    const normalised = scores.map((s) => normaliseScore(s, judge.output));
    outcome.scores = scores;
    if (normalised.length >= 2) outcome.spread = Math.max(...normalised) - Math.min(...normalised);
    return { outcome, judgeScore: normalised.reduce((a, b) => a + b, 0) / normalised.length, transcripts, newEntries };
  };
}

export type JudgeOne = ReturnType<typeof createJudgeRunner>;
