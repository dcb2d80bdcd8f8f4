import { configFrom } from '../../../common/config';
import { headersForEndpoints } from '../../../workers/endpointHeaders';

const endpoint = (url: string) => ({ protocol: 'openai-chat' as const, url, model: 'm' });

describe('endpoint credentials from the worker environment', () => {
  it('parses EVALGATE_ENDPOINT_HEADERS and gives an endpoint the headers of the longest matching URL prefix', () => {
    const config = configFrom({
      EVALGATE_ENDPOINT_HEADERS: JSON.stringify({
        'https://api.example.com': { Authorization: 'Bearer general' },
        'https://api.example.com/v1/judges': { Authorization: 'Bearer judges' },
      }),
    });
    const headersFor = headersForEndpoints(config.EVALGATE_ENDPOINT_HEADERS)!;
    expect(headersFor(endpoint('https://api.example.com/v1'))).toEqual({ Authorization: 'Bearer general' });
    expect(headersFor(endpoint('https://api.example.com/v1/judges/strict'))).toEqual({
      Authorization: 'Bearer judges',
    });
    expect(headersFor(endpoint('http://127.0.0.1:8700/v1'))).toBeUndefined();
  });

  it('is off when unset, and refuses a value that is not a JSON map of header maps', () => {
    expect(
      headersForEndpoints(configFrom({ EVALGATE_ENDPOINT_HEADERS: '' }).EVALGATE_ENDPOINT_HEADERS),
    ).toBeUndefined();
    expect(() => configFrom({ EVALGATE_ENDPOINT_HEADERS: '{"https://x": "Bearer oops"}' })).toThrow(
      /must be JSON like/,
    );
    expect(() => configFrom({ EVALGATE_ENDPOINT_HEADERS: 'not json' })).toThrow(/must be JSON like/);
  });
});
