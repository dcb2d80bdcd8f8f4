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

  it("shows this worker's share of an endpoint's limits while a fleet shares them, and none without", async () => {
    const fleet = {
      track: (_e: unknown, l: { setFleetShare(s: { concurrency: number; rps: number }): void }) =>
        l.setFleetShare({ concurrency: 3, rps: 12.5 }),
      forget: () => undefined,
      close: async () => undefined,
    };
    const shared = new EndpointLimiters({}, fleet);
    shared.forEndpoint({ protocol: 'json-predict', url: 'http://m.internal/p', maxConcurrency: 8, maxRps: 25 }, 64);
    const text = await workerRegistry([], shared).metrics();
    expect(text).toContain('evalgate_endpoint_fleet_share{endpoint="json-predict http://m.internal/p"} 3');
    expect(text).toContain('evalgate_endpoint_fleet_rps{endpoint="json-predict http://m.internal/p"} 12.5');
    const alone = new EndpointLimiters();
    alone.forEndpoint({ protocol: 'json-predict', url: 'http://m.internal/p', maxConcurrency: 8 }, 64);
    expect(await workerRegistry([], alone).metrics()).not.toMatch(/evalgate_endpoint_fleet_share\{/);
  });
});
