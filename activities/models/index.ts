/** The model-endpoint client: see README.md beside this file. */
export { createModelClient, chatCompletionsUrl, type ModelClient, type ModelClientOptions } from './client';
export {
  DEFAULT_PROMPT_TEMPLATES,
  compileTemplate,
  renderTemplate,
  renderValue,
  templateFields,
  type CompiledTemplate,
} from './template';
export { backoffDelay, classifyStatus, parseRetryAfter, retryDelay, RETRYABLE } from './retryPolicy';
export {
  parseChatCompletion,
  parseChatPrediction,
  parsePredictResponse,
  parseRankingText,
  parseUsage,
  type Parsed,
} from './responses';
export {
  EndpointLimiter,
  EndpointLimiters,
  FairSemaphore,
  RatePacer,
  endpointLabel,
  processEndpointLimiters,
} from './endpointLimiter';
export { createHttpAgents, processHttpAgents, MAX_RESPONSE_BYTES, type HttpAgents } from './httpAttempt';
export * from './types';
