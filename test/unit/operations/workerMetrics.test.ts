import { EndpointLimiters } from '../../../activities/models/endpointLimiter';
import { workerRegistry } from '../../../workers/metrics';

describe('worker /metrics', () => {
  it('exposes each endpoint limit, in-flight count, pause and circuit, labelled without credentials', async () => {
    const limiters = new EndpointLimiters();
    const limiter = limiters.forEndpoint(
      {
        protocol: 'openai-chat',
        url: 'https://user:key@llm.example.com/v1?api_key=sk-1',
        model: 'm',
        maxConcurrency: 8,
      },
      64,
    );
    expect(limiter.admit()).toBe(true);
    limiter.pause(60_000);
    const text = await workerRegistry([], limiters).metrics();
    const label = 'endpoint="openai-chat https://llm.example.com/v1 m"';
    expect(text).toContain(`evalgate_endpoint_limit{${label}} 8`);
    expect(text).toContain(`evalgate_endpoint_max_limit{${label}} 8`);
    expect(text).toContain(`evalgate_endpoint_in_flight{${label}} 1`);
    expect(text).toContain(`evalgate_endpoint_paused{${label}} 1`);
    expect(text).toContain(`evalgate_endpoint_circuit_open{${label}} 0`);
    expect(text).not.toContain('sk-1');
    expect(text).not.toContain('user:key');
    limiter.release();
  });
});
