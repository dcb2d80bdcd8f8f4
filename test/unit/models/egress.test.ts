import { parseEndpointAllow } from '../../../common/endpointAllow';
import { configFrom } from '../../../common/config';
import { formatIp, parseIp } from '../../../common/netAddress';
import type { Resolver } from '../../../common/resolver';
import { addressKind, EgressPolicy, platformServices } from '../../../domain/models/egress';

const entries = (text: string) => {
  const parsed = parseEndpointAllow(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.entries;
};

const names: Record<string, string[]> = {
  'metadata.google.internal': ['169.254.169.254'],
  'models.example.com': ['93.184.216.34'],
  'models.internal': ['10.1.2.3'],
  'split.example.com': ['93.184.216.34', '10.9.9.9'],
  localhost: ['127.0.0.1', '::1'],
};
const resolver: Resolver = async (host) => {
  const found = names[host];
  if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const config = configFrom({
  EVALGATE_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/evalgate',
  EVALGATE_TEMPORAL_ADDRESS: '127.0.0.1:7233',
  EVALGATE_S3_ENDPOINT: 'localhost',
  EVALGATE_S3_PORT: '9000',
  EVALGATE_API_HOST: '0.0.0.0',
  EVALGATE_API_PORT: '8080',
});
const policy = new EgressPolicy(
  entries('127.0.0.1:8700, [::1]:8800-8810, 10.20.0.0/16, models.internal, 192.168.1.5, 127.0.0.1:1-65535'),
  platformServices(config),
  resolver,
);
const strict = new EgressPolicy([], platformServices(config), resolver);

describe('address normalisation', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[::ffff:7f00:1]', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['[fe80::1%eth0]', 'fe80:0:0:0:0:0:0:1'],
    ['FD00:EC2::254', 'fd00:ec2:0:0:0:0:0:254'],
  ])('%s is %s', (text, normal) => {
    expect(formatIp(parseIp(text)!)).toBe(normal);
  });

  it.each(['example.com', '256.0.0.1', '1.2.3.4.5', '08.1.1.1', '1:2:3', '::1::2', ''])('%s is no IP', (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe('address kinds', () => {
  it.each([
    ['0.0.0.0', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fdff::1', 'unique_local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (text, kind) => {
    expect(addressKind(parseIp(text)!)).toBe(kind);
  });
});

describe('the egress rule', () => {
  it.each([
    // always refused
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://metadata.google.internal/computeMetadata/v1', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    // the platform's own services, even though 127.0.0.1:1-65535 is listed
    ['http://127.0.0.1:5432/', 'database'],
    ['http://127.0.0.1:7233/', 'Temporal'],
    ['http://localhost:9000/', 'object store'],
    ['http://127.0.0.1:9000/', 'object store'],
    ['http://[::1]:9000/', 'object store'],
    ['http://127.0.0.1:8080/', 'API'],
    ['http://2130706433:8080/', 'API'],
    ['http://0.0.0.0:8080/', 'API'],
    ['http://127.0.0.2:5432/', 'database'],
  ])('refuses %s (%s)', async (url, why) => {
    await expect(policy.checkUrl(url)).rejects.toMatchObject({
      code: 'endpoint_not_allowed',
      field: 'endpoint.url',
      message: expect.stringContaining(why),
    });
  });

  it.each([
    'http://127.0.0.1:8700/predict',
    'http://2130706433:8700/',
    'http://0x7f.1:8700/',
    'http://[::1]:8805/v1',
    'http://localhost:8805/', // 127.0.0.1 and ::1 both listed
    'http://10.20.3.4/',
    'http://models.internal:9999/v1',
    'http://192.168.1.5/',
    'https://models.example.com/v1',
    'http://8.8.8.8/',
  ])('allows %s', async (url) => {
    await expect(policy.checkUrl(url)).resolves.toBeUndefined();
  });

  it.each([
    'http://127.0.0.1:8700/',
    'http://2130706433:8700/',
    'http://[::1]:8805/',
    'http://[::ffff:127.0.0.1]:8700/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://172.16.0.1/',
    'http://100.64.0.1/',
    'http://169.254.1.1/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://models.internal/',
    'http://split.example.com/',
  ])('refuses %s with no allow entry', async (url) => {
    await expect(strict.checkUrl(url)).rejects.toMatchObject({ code: 'endpoint_not_allowed', field: 'endpoint.url' });
  });

  it('refuses a loopback port outside the listed one and range', async () => {
    const narrow = new EgressPolicy(entries('127.0.0.1:8700,[::1]:8800-8810'), [], resolver);
    await expect(narrow.checkUrl('http://127.0.0.1:8701/')).rejects.toMatchObject({ code: 'endpoint_not_allowed' });
    await expect(narrow.checkUrl('http://[::1]:8811/')).rejects.toMatchObject({ code: 'endpoint_not_allowed' });
    await expect(narrow.checkUrl('http://[::1]:8810/')).resolves.toBeUndefined();
  });

  it('refuses a host that does not resolve, and credentials in the query string', async () => {
    await expect(policy.checkUrl('http://nowhere.invalid/')).rejects.toMatchObject({ code: 'endpoint_not_allowed' });
    await expect(policy.checkUrl('https://models.example.com/v1?api_key=sk-1')).rejects.toMatchObject({
      code: 'endpoint_not_allowed',
      field: 'endpoint.url',
    });
    await expect(policy.checkUrl('https://models.example.com/v1?api-version=2024-02-01')).resolves.toBeUndefined();
  });

  it.each([
    '?api_key=abc',
    '?key=abc',
    '?token=abc',
    '?access_token=abc',
    '?sig=abc',
    '?sv=2022-11-02&sig=abc',
    '?code=abc',
    '?pass=abc',
    '?X-Amz-Credential=AKIAX%2F20240101&X-Amz-Signature=abc',
    '?x=1;apikey=abc',
    '?API%5FKEY=abc',
    '?q=sk-proj-abc',
    '?q=hf_abc',
    '?q=eyJhbGciOiJIUzI1NiJ9.e30.sig',
    '?q=egk_abc',
    '#access_token=abc',
  ])('refuses the credential in %s with 400 endpoint_not_allowed', async (tail) => {
    await expect(policy.checkUrl(`https://models.example.com/v1${tail}`)).rejects.toMatchObject({
      code: 'endpoint_not_allowed',
      field: 'endpoint.url',
      message: expect.stringMatching(/looks like a credential/),
    });
  });

  it.each(['?api-version=2024-02-01', '?model=gpt-4o&temperature=0', '?deployment=eval-a'])(
    'takes the ordinary query %s',
    async (tail) => {
      await expect(policy.checkUrl(`https://models.example.com/v1${tail}`)).resolves.toBeUndefined();
    },
  );

  it('filters the addresses of a connection and refuses when none is left', () => {
    const answer = [
      { address: '10.9.9.9', family: 4 },
      { address: '93.184.216.34', family: 4 },
    ];
    expect(strict.connectionAddresses('split.example.com', 443, answer)).toEqual({ addresses: [answer[1]] });
    expect(strict.connectionAddresses('rebound.example.com', 443, [{ address: '169.254.169.254', family: 4 }])).toEqual(
      {
        refused: expect.stringContaining('metadata'),
      },
    );
  });
});

describe('EVALGATE_ENDPOINT_ALLOW', () => {
  it('parses host, host:port, host:lo-hi and CIDR entries', () => {
    expect(entries(' models.internal , 127.0.0.1:8700,[::1]:1-2 , 10.0.0.0/8, fc00::/7, 2130706433')).toMatchObject([
      { kind: 'host', host: 'models.internal', ip: false },
      { kind: 'host', host: '127.0.0.1', ports: [8700, 8700] },
      { kind: 'host', host: '0:0:0:0:0:0:0:1', ports: [1, 2] },
      { kind: 'cidr', cidr: { family: 4, bits: 8 } },
      { kind: 'cidr', cidr: { family: 6, bits: 7 } },
      { kind: 'host', host: '127.0.0.1', ip: true },
    ]);
    expect(entries('')).toEqual([]);
  });

  it.each(['127.0.0.1:0', '127.0.0.1:9-1', '127.0.0.1:70000', '10.0.0.0/33', 'bad host', 'http://x', 'a:b'])(
    'refuses %s at start-up',
    (text) => {
      expect(parseEndpointAllow(text)).toEqual({ error: expect.stringContaining(text) });
      expect(() => configFrom({ EVALGATE_ENDPOINT_ALLOW: text })).toThrow(/EVALGATE_ENDPOINT_ALLOW|expected/);
    },
  );
});
