/** The model-endpoint client: see README.md beside this file. */
export { createModelClient, chatCompletionsUrl, type ModelClient, type ModelClientOptions } from './client';
export {
  EndpointLimiter,
  EndpointLimiters,
  FairSemaphore,
  RatePacer,
  endpointLabel,
  processEndpointLimiters,
} from './endpointLimiter';
export { createHttpAgents, processHttpAgents, MAX_RESPONSE_BYTES, type HttpAgents } from './httpAttempt';
