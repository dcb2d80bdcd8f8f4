/**
 * Types of the model-endpoint client: what the eval runner's shard activities and
 * the judge send to a model endpoint, and what comes back. A per-example failure is
 * data (`ModelCallResult.error`), never an exception through the shard.
 */
import type { RunMode } from '../../common/names';
import type { TaskType } from '../../common/rows';

export type { TaskType };

export type Protocol = 'openai-chat' | 'json-predict';

export interface EndpointSpec {
  protocol: Protocol;
  /** json-predict: the URL posted to. openai-chat: the base URL; `/chat/completions` is appended. */
  url: string;
  model?: string;
  /** In-flight requests allowed to this endpoint from all workers together (shared by every caller). */
  maxConcurrency?: number;
  /** Requests per second allowed to this endpoint from all workers together (token bucket, burst of one second). */
  maxRps?: number;
}

export interface Prediction {
  label?: string;
  scores?: Record<string, number>;
  ranking?: string[];
  output?: string;
  value?: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** `endpoint_not_allowed`: the egress policy refused the address the connection would use (domain/models/egress.ts). */
export type CallErrorClass =
  | 'timeout'
  | 'network'
  | 'rate_limited'
  | 'server_error'
  | 'client_error'
  | 'bad_response'
  | 'cancelled'
  | 'endpoint_not_allowed';

export const CALL_ERROR_CLASSES: readonly CallErrorClass[] = [
  'timeout',
  'network',
  'rate_limited',
  'server_error',
  'client_error',
  'bad_response',
  'cancelled',
  'endpoint_not_allowed',
];

export interface CallError {
  class: CallErrorClass;
  message: string;
  /** HTTP status of the last attempt, when there was an answer. */
  status?: number;
}

export interface ModelCallResult {
  prediction?: Prediction;
  error?: CallError;
  usage?: Usage;
  /** HTTP requests sent (0 when cancelled before the first). */
  attempts: number;
  /** Wall time of the whole call: queueing, every attempt and the waits between them. */
  latencyMs: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatResult {
  /** `choices[0].message.content` exactly as sent (untrimmed). */
  content?: string;
  error?: CallError;
  usage?: Usage;
  attempts: number;
  latencyMs: number;
}

interface PredictCall {
  endpoint: EndpointSpec;
  taskType: TaskType;
  /** openai-chat only; null uses DEFAULT_PROMPT_TEMPLATES[taskType]. */
  promptTemplate: string | null;
  /** openai-chat only: merged into the request body (`temperature`, `seed`, `max_tokens`, ...). */
  params: Record<string, unknown>;
  signal?: AbortSignal;
  /**
   * Called once, when the call first waits out a backoff or a Retry-After: it holds no permit then,
   * and its caller may give its lane to the next example (the call goes on and resolves as usual).
   */
  onBackoff?: () => void;
  /** The mode of the run the call is for: waiting release calls get an endpoint's free lanes first (default release). */
  mode?: RunMode;
}

/**
 * The model input: the dataset row minus its labels (`row`), or for json-predict the same
 * already serialised (`rowJson`, the caller's canonical JSON of it, made for its input
 * hash), sent as the body instead of serialising the row again. openai-chat needs `row`.
 */
export type PredictInput = PredictCall &
  ({ row: Record<string, unknown>; rowJson?: string } | { row?: undefined; rowJson: string });

export interface ChatInput {
  endpoint: EndpointSpec;
  messages: ChatMessage[];
  params: Record<string, unknown>;
  signal?: AbortSignal;
  /** As PredictInput's: a release run's judge calls go before an exploratory run's (default release). */
  mode?: RunMode;
}

export interface EndpointStats {
  /** protocol, URL without credentials or query string, and model. */
  endpoint: string;
  /** In-flight requests allowed now (the adaptive limit, at most maxLimit). */
  limit: number;
  /** The strictest declared limit. */
  maxLimit: number;
  /** Admissions held by a Retry-After pause. */
  paused: boolean;
  /** open: the endpoint is down and calls fail at once; half-open: one probe is out. */
  circuit: 'closed' | 'open' | 'half-open';
  /** Times the adaptive limit was lowered, and of those, times the endpoint was also paused. */
  decreases: number;
  pauses: number;
  maxRps?: number;
  /** This worker's share of the fleet's concurrency limit, and of its rate (when one is declared), while a fleet shares them. */
  fleetShare?: number;
  fleetRps?: number;
  /** Requests per second the adaptive controller paces at, after the endpoint refused a round (at most maxRps). */
  pacedRps?: number;
  /** Requests holding a permit (sending, or waiting for the rate limit / a Retry-After pause). */
  inFlight: number;
  /** Calls waiting for a permit. */
  queued: number;
}

export interface ModelClientStats {
  /** predict + chat calls started. */
  calls: number;
  succeeded: number;
  failed: Record<CallErrorClass, number>;
  /** HTTP requests sent. */
  attempts: number;
  /** Retries, by the class of the failure that caused them. */
  retries: Record<CallErrorClass, number>;
  /** Endpoints known to this process (the limiter registry may be shared by several clients). */
  endpoints: EndpointStats[];
}
