/**
 * The egress policy against the real stack (API.md, Trust): endpoints that lead inside are refused
 * at registration with nothing written, an allow-listed loopback server is reached, and a name that
 * is re-pointed inside after registration (DNS rebinding) fails the run's calls when they connect.
 */
import { systemResolver, type Resolver } from '../../../common/resolver';
import {
  registerSpamDataset,
  registerSpamModel,
  registerSuite,
  startEvalWorld,
  waitForRun,
  type EvalWorld,
} from '../../../testkit/evalWorld';
import { unique } from '../../../testkit/stack';

const REBIND_HOST = 'models.rebind.test';
let rebound = false;
/** Plays DNS: the rebinding name answers loopback until `rebound`, then the metadata address. */
const resolver: Resolver = async (host) => {
  if (host === REBIND_HOST) return [{ address: rebound ? '169.254.169.254' : '127.0.0.1', family: 4 }];
  if (host === 'metadata.google.internal') return [{ address: '169.254.169.254', family: 4 }];
  return systemResolver(host);
};

let world: EvalWorld;
let dataset: { datasetId: string };
let suite: { metricSuiteId: string };
let modelId: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '40' }, { resolver });
  dataset = await registerSpamDataset(world, { mix: { 'easy-ham': 20, spam: 20 } });
  suite = await registerSuite(world);
  const model = await world.editor.post('/v1/models', { name: unique('egress'), ownerTeam: world.team });
  modelId = model.body.modelId;
}, 120_000);
afterAll(() => world.close());

const register = (url: string) =>
  world.editor.post(`/v1/models/${modelId}/versions`, {
    version: unique('v'),
    endpoint: { protocol: 'json-predict', url },
  });

const startRun = (modelVersion: string) =>
  world.editor.post('/v1/eval-runs', {
    modelVersion,
    datasetId: dataset.datasetId,
    metricSuiteId: suite.metricSuiteId,
  });

describe('egress at registration', () => {
  const config = () => world.stack.config;
  const db = () => new URL(config().EVALGATE_DATABASE_URL);

  it.each<[string, () => string]>([
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a metadata host name', () => 'http://metadata.google.internal/computeMetadata/v1/'],
    ['the IPv6 metadata address', () => 'http://[fd00:ec2::254]/'],
    ['a loopback port not listed', () => 'http://127.0.0.1:8081/predict'],
    ['IPv6 loopback', () => `http://[::1]:${world.server.url.split(':').at(-1)}/predict`],
    ["the platform's PostgreSQL", () => `http://${db().hostname}:${db().port || 5432}/`],
    ["the platform's Temporal", () => `http://${config().EVALGATE_TEMPORAL_ADDRESS}/`],
    ["the platform's MinIO", () => `http://${config().EVALGATE_S3_ENDPOINT}:${config().EVALGATE_S3_PORT}/`],
    ["the platform's API", () => `http://127.0.0.1:${config().EVALGATE_API_PORT}/v1`],
    ['a decimal-spelled loopback', () => `http://2130706433:${config().EVALGATE_API_PORT}/`],
    ['a hex-spelled loopback', () => `http://0x7f.1:${config().EVALGATE_S3_PORT}/`],
    ['an IPv4-mapped loopback', () => 'http://[::ffff:127.0.0.1]:8081/'],
    ['0.0.0.0', () => 'http://0.0.0.0:8081/'],
    ['a private address', () => 'http://10.0.0.1/predict'],
    ['a home-router address', () => 'http://192.168.1.1/predict'],
    ['a CGNAT address', () => 'http://100.64.0.1/predict'],
  ])('refuses %s with 400 endpoint_not_allowed and writes nothing', async (_, url) => {
    const res = await register(url());
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'endpoint_not_allowed', field: 'endpoint.url' });
    const model = await world.editor.get(`/v1/models/${modelId}`);
    expect(model.body.versions).toEqual([]);
  });

  it.each(['?api_key=sk-live-123', '?code=abc', '?q=sk-live-123', '#token=abc'])(
    'refuses a credential in the URL (%s)',
    async (tail) => {
      const res = await register(`${world.server.predictUrl('nb-v1')}${tail}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'endpoint_not_allowed', field: 'endpoint.url' });
    },
  );
});

describe('egress at connection', () => {
  it('reaches an allow-listed loopback server: 201 and a run that succeeds', async () => {
    const { versions } = await registerSpamModel(world, ['nb-v1']);
    const run = await waitForRun(world.editor, (await startRun(versions[0])).body.runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.errors).toBe(0);
  });

  it('fails the calls as endpoint_not_allowed when the name is re-pointed at the metadata address', async () => {
    const port = world.server.url.split(':').at(-1);
    const res = await register(`http://${REBIND_HOST}:${port}/predict/nb-v1`);
    expect(res.status).toBe(201);
    const before = world.server.stats().requests.total;
    rebound = true;
    try {
      const run = await waitForRun(world.editor, (await startRun(res.body.modelVersion)).body.runId, 60_000);
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ class: 'endpoint_not_allowed', message: expect.stringContaining('metadata') });
      expect(world.server.stats().requests.total).toBe(before);
    } finally {
      rebound = false;
    }
  });
});
