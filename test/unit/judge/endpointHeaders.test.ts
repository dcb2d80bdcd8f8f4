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

  it('matches by exact origin (scheme, host, port), never by string prefix', () => {
    const headersFor = headersForEndpoints(
      configFrom({
        EVALGATE_ENDPOINT_HEADERS: JSON.stringify({
          'https://api.x.com': { Authorization: 'Bearer x' },
          'https://api.x.com/v1': { Authorization: 'Bearer x-v1' },
          'http://127.0.0.1:8700': { Authorization: 'Bearer local' },
        }),
      }).EVALGATE_ENDPOINT_HEADERS,
    )!;
    const x = { Authorization: 'Bearer x' };
    expect(headersFor(endpoint('https://api.x.com'))).toEqual(x);
    expect(headersFor(endpoint('https://API.X.com:443/chat'))).toEqual(x);
    expect(headersFor(endpoint('https://api.x.com/v1/chat'))).toEqual({ Authorization: 'Bearer x-v1' });
    expect(headersFor(endpoint('https://api.x.com/v10'))).toEqual(x);
    for (const stranger of [
      'https://api.x.com.evil.net',
      'https://api.x.com.evil.net/v1',
      'https://api.x.comevil.net',
      'https://api.x.com@evil.net/v1',
      'https://api.x.com:8443/v1',
      'http://api.x.com/v1',
      'http://127.0.0.1:87001/v1',
      'http://127.0.0.1:870/v1',
      'http://127.0.0.1/v1',
      'not a url',
    ])
      expect([stranger, headersFor(endpoint(stranger))]).toEqual([stranger, undefined]);
    expect(headersFor(endpoint('http://127.0.0.1:8700/v1'))).toEqual({ Authorization: 'Bearer local' });
  });

  it.each([
    'api.x.com',
    'ftp://api.x.com',
    'https://user:pw@api.x.com',
    'https://api.x.com/?k=1',
    'https://api.x.com/#f',
  ])('refuses the entry %s at start-up', (key) => {
    expect(() => configFrom({ EVALGATE_ENDPOINT_HEADERS: JSON.stringify({ [key]: { A: 'b' } }) })).toThrow(
      /must be an http\(s\) origin/,
    );
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
