/** The model-endpoint client: see client.ts. */
export { createModelClient, chatCompletionsUrl, type ModelClient, type ModelClientOptions } from './client';
export { DEFAULT_PROMPT_TEMPLATES, compileTemplate, renderTemplate, renderValue, templateFields, type CompiledTemplate } from './template';
export { backoffDelay, classifyStatus, parseRetryAfter, retryDelay, RETRYABLE } from './retryPolicy';
export { parseChatCompletion, parseChatPrediction, parsePredictResponse, parseRankingText, parseUsage, type Parsed } from './responses';
export { EndpointLimiter, EndpointLimiters, FairSemaphore, RatePacer, endpointLabel, processEndpointLimiters } from './endpointLimiter';
export * from './types';
