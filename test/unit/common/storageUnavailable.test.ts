import { isStorageUnavailable } from '../../../common/storage';

describe('isStorageUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' })],
    ['a reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a timeout', Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })],
    ['a 503 from the store', Object.assign(new Error('Service Unavailable'), { code: 'SlowDown', statusCode: 503 })],
    ['a bare 5xx', Object.assign(new Error('bad gateway'), { statusCode: 502 })],
    ['every address refused', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'connect')],
    ['a hang-up', new Error('socket hang up')],
  ])('retries %s', (_, err) => {
    expect(isStorageUnavailable(err)).toBe(true);
  });

  it.each([
    ['a missing object', Object.assign(new Error('The specified key does not exist.'), { code: 'NoSuchKey' })],
    ['a refused access', Object.assign(new Error('Access Denied.'), { code: 'AccessDenied', statusCode: 403 })],
    ['damaged content', new SyntaxError('Unexpected token } in JSON')],
    ['not an error', 'ECONNREFUSED'],
  ])('does not retry %s', (_, err) => {
    expect(isStorageUnavailable(err)).toBe(false);
  });
});
