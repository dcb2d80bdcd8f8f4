/**
 * The model-endpoint client used by the eval runner's shard activities and the judge.
 * One per worker process is enough; endpoint limits are process-wide regardless
 * (see endpointLimiter.ts). A per-example failure comes back as data, never thrown.
 *
 * Transport and connection reuse: node:http(s) keep-alive agents, not fetch — see
 * httpAttempt.ts for why (CPU per request) and how the pools are sized.
 *
 * Logs: retries and failures at debug with the endpoint label (no credentials, no
 * query string), class, status and attempt — never row contents, prompts or headers.
 */
import type { Logger } from 'pino';
import { EndpointLimiters, processEndpointLimiters } from './endpointLimiter';
import type { ReleaseFirst } from './releaseFirst';
import { postJson, type AttemptOutcome, type HttpAgents } from './httpAttempt';
import type { ReplyKind } from '../../domain/models/endpointControl';
import { egressRoutes } from './egressLookup';
import type { EgressPolicy } from '../../domain/models/egress';
import type { Resolver } from '../../common/resolver';
import type { RunMode } from '../../common/names';
import {
  parseChatCompletion,
  parseChatPrediction,
  parsePredictResponse,
  parseUsage,
} from '../../domain/models/responses';
import { RETRYABLE, retryDelay } from '../../domain/models/retryPolicy';
import { abortableSleep } from './sleep';
import { DEFAULT_PROMPT_TEMPLATES, renderTemplate } from '../../domain/models/template';
import {
  CALL_ERROR_CLASSES,
  type CallError,
  type CallErrorClass,
  type ChatInput,
  type ChatMessage,
  type ChatResult,
  type EndpointSpec,
  type ModelCallResult,
  type ModelClientStats,
  type PredictInput,
} from '../../domain/models/types';

export interface ModelClientOptions {
  /** Per attempt, from sending the request to the end of the answer's body. */
  timeoutMs: number;
  /** Attempts in total, the first included. */
  maxAttempts: number;
  retryBaseMs: number;
  /** Cap of the exponential backoff; default 10 s. */
  retryMaxMs?: number;
  /** For endpoints that declare no maxConcurrency. */
  defaultMaxConcurrency: number;
  logger?: Logger;
  /** A longer Retry-After ends the call (as `rate_limited`) instead of holding a shard for it; default 60 s. */
  maxRetryAfterMs?: number;
  /**
   * Extra request headers per endpoint, typically credentials resolved from config.
   * They stay out of EndpointSpec (recorded in lineage and cache keys) and out of logs.
   */
  headersFor?: (endpoint: EndpointSpec) => Record<string, string> | undefined;
  /** Connection pools; default: the process-wide keep-alive agents (see httpAttempt.ts). */
  agents?: HttpAgents;
  /** Default: the process-wide registry. Tests pass their own. */
  limiters?: EndpointLimiters;
  /** Jitter source; default Math.random. */
  random?: () => number;
  /**
   * Where calls may connect (API.md, Trust): every new connection's resolved addresses pass through it, so an
   * endpoint whose name is later re-pointed at the inside (DNS rebinding) fails as `endpoint_not_allowed`.
   * Workers always set it; without it (client tests) every address is reachable.
   */
  egress?: EgressPolicy;
  /** Name resolution for `egress`; default the system's. Tests inject one. */
  resolver?: Resolver;
  /** Holds exploratory calls to a few lanes while release work runs in the process (releaseFirst.ts); default: never. */
  releaseFirst?: ReleaseFirst;
}

export interface ModelClient {
  predict(input: PredictInput): Promise<ModelCallResult>;
  chat(input: ChatInput): Promise<ChatResult>;
  stats(): ModelClientStats;
}

type SendResult =
  { body: unknown; attempts: number; error?: undefined } | { error: CallError; attempts: number; body?: undefined };

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  accept: 'application/json',
});

const byClass = (): Record<CallErrorClass, number> =>
  Object.fromEntries(CALL_ERROR_CLASSES.map((errorClass) => [errorClass, 0])) as Record<CallErrorClass, number>;

/** What an attempt's outcome tells the endpoint's controller. */
function replyKind(outcome: AttemptOutcome): ReplyKind {
  if (outcome.ok) return 'ok';
  if (outcome.status === 429) return 'rate_limited';
  if (outcome.status === 503) return 'overloaded';
  switch (outcome.class) {
    case 'network':
    case 'timeout':
    case 'server_error':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'answered';
  }
}

export function chatCompletionsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/chat/completions`;
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const retryMaxMs = options.retryMaxMs ?? 10_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts));
  const limiters = options.limiters ?? processEndpointLimiters;
  const logger = options.logger;
  const routes = options.egress ? egressRoutes(options.egress, options.resolver) : undefined;
  const counters = { calls: 0, succeeded: 0, failed: byClass(), attempts: 0, retries: byClass() };

  function headersFor(endpoint: EndpointSpec): Record<string, string> {
    const extra = options.headersFor?.(endpoint);
    return extra ? { ...JSON_HEADERS, ...extra } : (JSON_HEADERS as Record<string, string>);
  }

  /**
   * POSTs with retries under the endpoint's limits; the permit is held per attempt, not
   * across backoff sleeps. The body is built on first admission, not on arrival: a shard
   * queues its whole batch at once, and thousands of serialised ~2 KB bodies waiting
   * for a permit would double the batch's memory for nothing. `mode`: a release run's calls
   * are admitted before exploratory ones waiting for the same endpoint (endpointLimiter.ts).
   */
  async function send(
    endpoint: EndpointSpec,
    url: string,
    buildBody: () => string,
    signal: AbortSignal | undefined,
    onBackoff?: () => void,
    mode: RunMode = 'release',
  ): Promise<SendResult> {
    const route = routes?.(url);
    if (route?.refused) return { error: { class: 'endpoint_not_allowed', message: route.refused }, attempts: 0 };
    const lookup = route?.lookup;
    const limiter = limiters.forEndpoint(endpoint, options.defaultMaxConcurrency);
    const headers = headersFor(endpoint);
    const cancelled = (attempts: number): SendResult => ({
      error: { class: 'cancelled', message: 'cancelled by the caller' },
      attempts,
    });
    let body: string | undefined;
    // Exploratory attempts also take one of the process's exploratory lanes, which are few while release work runs.
    const yielding = mode === 'exploratory' ? options.releaseFirst : undefined;
    for (let attempts = 0; ;) {
      if (yielding) {
        const lane = yielding.admitExploratory(signal);
        if (lane !== true && !(await lane)) return cancelled(attempts);
      }
      const admission = limiter.admit(signal, mode);
      const admitted = admission === true || admission === false || admission === 'open' ? admission : await admission;
      if (admitted !== true) yielding?.exploratoryDone();
      if (admitted === false) return cancelled(attempts);
      if (admitted === 'open') {
        const message = `${limiter.label} is down: its circuit is open after repeated failures (probing to recover)`;
        logger?.debug({ endpoint: limiter.label, attempt: attempts }, 'model call refused: circuit open');
        return { error: { class: 'network', message }, attempts };
      }
      if (body === undefined) {
        try {
          body = buildBody();
        } catch (err) {
          limiter.release();
          yielding?.exploratoryDone();
          return {
            error: { class: 'client_error', message: `the request is not JSON: ${(err as Error).message}` },
            attempts,
          };
        }
      }
      attempts++;
      counters.attempts++;
      let outcome: AttemptOutcome | undefined;
      const sentAt = limiter.sent();
      try {
        outcome = await postJson({
          url,
          headers,
          body,
          timeoutMs: options.timeoutMs,
          signal,
          agents: options.agents,
          lookup,
        });
      } finally {
        limiter.replied(
          sentAt,
          outcome ? replyKind(outcome) : 'cancelled',
          outcome?.ok ? undefined : outcome?.retryAfterMs,
        );
        limiter.release(mode);
        yielding?.exploratoryDone();
      }
      if (outcome.ok) return { body: outcome.body, attempts };
      const error: CallError = { class: outcome.class, message: outcome.message };
      if (outcome.status !== undefined) error.status = outcome.status;
      const log = { endpoint: limiter.label, class: outcome.class, status: outcome.status, attempt: attempts };
      if (!RETRYABLE.has(outcome.class) || attempts >= maxAttempts) {
        if (attempts > 1) error.message += ` (after ${attempts} attempts)`;
        logger?.debug(log, 'model call failed');
        return { error, attempts };
      }
      const { retryAfterMs } = outcome;
      if (retryAfterMs !== undefined) {
        if (retryAfterMs > maxRetryAfterMs) {
          error.message +=
            ` (the server asked to wait ${Math.ceil(retryAfterMs / 1000)} s, over the ` +
            `${Math.ceil(maxRetryAfterMs / 1000)} s limit)`;
          logger?.debug({ ...log, retryAfterMs }, 'model call failed: Retry-After too long');
          return { error, attempts };
        }
        // The endpoint's controller decides whether everyone backs off (see endpointControl.ts); this call does.
      }
      const delayMs = retryDelay(attempts, retryAfterMs, options.retryBaseMs, retryMaxMs, options.random);
      counters.retries[outcome.class]++;
      logger?.debug({ ...log, delayMs, retryAfterMs }, 'model call retrying');
      if (attempts === 1) onBackoff?.();
      if (!(await abortableSleep(delayMs, signal))) return cancelled(attempts);
    }
  }

  /** Params cannot replace the model or the messages (the model version's identity and the prompt); streaming is not spoken here. */
  function chatBody(endpoint: EndpointSpec, messages: ChatMessage[], params: Record<string, unknown>): string {
    const { stream: _stream, ...rest } = params;
    return JSON.stringify({ ...rest, model: endpoint.model, messages });
  }

  /** Messages are built lazily, like every body (see send). */
  async function chatCall(
    endpoint: EndpointSpec,
    messages: () => ChatMessage[],
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
    onBackoff?: () => void,
    mode?: RunMode,
  ): Promise<Omit<ChatResult, 'latencyMs'>> {
    const sent = await send(
      endpoint,
      chatCompletionsUrl(endpoint.url),
      () => chatBody(endpoint, messages(), params),
      signal,
      onBackoff,
      mode,
    );
    if (sent.error) return { error: sent.error, attempts: sent.attempts };
    const content = parseChatCompletion(sent.body);
    if (!content.ok) return { error: { class: 'bad_response', message: content.message }, attempts: sent.attempts };
    const result: Omit<ChatResult, 'latencyMs'> = { content: content.value, attempts: sent.attempts };
    const usage = parseUsage(sent.body);
    if (usage) result.usage = usage;
    return result;
  }

  async function predictJson(input: PredictInput): Promise<Omit<ModelCallResult, 'latencyMs'>> {
    const sent = await send(
      input.endpoint,
      input.endpoint.url,
      () => input.rowJson ?? JSON.stringify(input.row),
      input.signal,
      input.onBackoff,
      input.mode,
    );
    if (sent.error) return { error: sent.error, attempts: sent.attempts };
    const prediction = parsePredictResponse(input.taskType, sent.body);
    if (!prediction.ok)
      return { error: { class: 'bad_response', message: prediction.message }, attempts: sent.attempts };
    const result: Omit<ModelCallResult, 'latencyMs'> = { prediction: prediction.value, attempts: sent.attempts };
    const usage = parseUsage(sent.body);
    if (usage) result.usage = usage;
    return result;
  }

  async function predictChat(input: PredictInput): Promise<Omit<ModelCallResult, 'latencyMs'>> {
    const { row } = input;
    if (!row)
      return {
        error: {
          class: 'client_error',
          message: 'an openai-chat call needs the row to render its prompt, not only its JSON',
        },
        attempts: 0,
      };
    const template = input.promptTemplate ?? DEFAULT_PROMPT_TEMPLATES[input.taskType];
    const messages = (): ChatMessage[] => [{ role: 'user', content: renderTemplate(template, row) }];
    const reply = await chatCall(input.endpoint, messages, input.params, input.signal, input.onBackoff, input.mode);
    if (reply.content === undefined) return reply;
    const prediction = parseChatPrediction(input.taskType, reply.content);
    const result: Omit<ModelCallResult, 'latencyMs'> = prediction.ok
      ? { prediction: prediction.value, attempts: reply.attempts }
      : { error: { class: 'bad_response', message: prediction.message }, attempts: reply.attempts };
    if (reply.usage) result.usage = reply.usage;
    return result;
  }

  /** Counts the outcome and stamps the wall time. */
  function finish<T extends { error?: CallError; attempts: number }>(
    result: T,
    started: number,
  ): T & { latencyMs: number } {
    if (result.error) counters.failed[result.error.class]++;
    else counters.succeeded++;
    return Object.assign(result, { latencyMs: Math.round(performance.now() - started) });
  }

  return {
    async predict(input) {
      const started = performance.now();
      counters.calls++;
      const result = input.endpoint.protocol === 'json-predict' ? await predictJson(input) : await predictChat(input);
      return finish(result, started);
    },

    async chat(input) {
      const started = performance.now();
      counters.calls++;
      if (input.endpoint.protocol !== 'openai-chat') {
        return finish(
          {
            error: {
              class: 'client_error',
              message: `chat needs an openai-chat endpoint, not ${input.endpoint.protocol}`,
            },
            attempts: 0,
          },
          started,
        );
      }
      return finish(
        await chatCall(input.endpoint, () => input.messages, input.params, input.signal, undefined, input.mode),
        started,
      );
    },

    stats() {
      return {
        calls: counters.calls,
        succeeded: counters.succeeded,
        failed: { ...counters.failed },
        attempts: counters.attempts,
        retries: { ...counters.retries },
        endpoints: limiters.stats(),
      };
    },
  };
}
