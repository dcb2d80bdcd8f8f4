/** The model-endpoint client: see README.md beside this file. */
export { createModelClient, chatCompletionsUrl, type ModelClient, type ModelClientOptions } from './client';
export {
  DEFAULT_PROMPT_TEMPLATES,
  compileTemplate,
  renderTemplate,
  renderValue,
  templateFields,
  type CompiledTemplate,
} from '../../domain/models/template';
export { backoffDelay, classifyStatus, parseRetryAfter, retryDelay, RETRYABLE } from '../../domain/models/retryPolicy';
export {
  parseChatCompletion,
  parseChatPrediction,
  parsePredictResponse,
  parseRankingText,
  parseUsage,
  type Parsed,
} from '../../domain/models/responses';
export {
  EndpointLimiter,
  EndpointLimiters,
  FairSemaphore,
  RatePacer,
  endpointLabel,
  processEndpointLimiters,
} from './endpointLimiter';
export { createHttpAgents, processHttpAgents, MAX_RESPONSE_BYTES, type HttpAgents } from './httpAttempt';
export * from '../../domain/models/types';
