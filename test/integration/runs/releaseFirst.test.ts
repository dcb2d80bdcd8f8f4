/**
 * Release first at a shared endpoint (issue 14): an exploratory run keeps an endpoint with two
 * lanes busy; a release run started on the same endpoint gets the lanes as they come back, so the
 * model server sees the release run's calls one after another, not interleaved with the
 * exploratory run's — and the exploratory run then finishes, with every call made once.
 */
import { classificationRows } from '../../../testkit/corpus/writeDatasets';
import { registerSuite, startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { unique } from '../../../testkit/stack';

const EXPLORATORY_ROWS = 600;
const RELEASE_ROWS = 40;
const LANES = 2;

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld();
}, 120_000);
afterAll(() => world.close());

/** A dataset of `rows` held-out emails whose row ids start with `prefix-`, so the server's log tells runs apart. */
async function dataset(prefix: string, rows: number): Promise<string> {
  const created = await world.editor.post('/v1/datasets', {
    name: unique(prefix),
    taskType: 'classification',
    ownerTeam: world.team,
  });
  const body = [...classificationRows({ split: 'all', limit: rows })]
    .map((row) => JSON.stringify({ ...row, id: `${prefix}-${row.id}` }) + '\n')
    .join('');
  const up = await world.editor.ndjson(
    `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed`,
    body,
  );
  expect(up.status).toBe(201);
  return created.body.datasetId as string;
}

/** A model whose one version calls the reference server's nb-v1 with at most LANES calls in flight. */
async function sharedEndpointModel(): Promise<string> {
  const model = await world.editor.post('/v1/models', { name: unique('shared'), ownerTeam: world.team });
  const version = await world.editor.post(`/v1/models/${model.body.modelId}/versions`, {
    version: 'v1',
    endpoint: { protocol: 'json-predict', url: world.server.predictUrl('nb-v1'), maxConcurrency: LANES },
  });
  expect(version.status).toBe(201);
  return version.body.modelVersion as string;
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('release first at a shared endpoint', () => {
  it("serves a release run's calls before the waiting calls of an exploratory run on the same endpoint", async () => {
    const suite = await registerSuite(world, 'exploratory', [{ name: 'accuracy', metric: 'accuracy' }]);
    const [exploratoryData, releaseData] = [await dataset('x', EXPLORATORY_ROWS), await dataset('r', RELEASE_ROWS)];
    // Two model versions, one endpoint: the same lanes (the model server sees one model, nb-v1).
    const [exploratoryModel, releaseModel] = [await sharedEndpointModel(), await sharedEndpointModel()];
    world.server.resetStats();
    // 600 calls through 2 lanes at 50 ms: about 15 s of exploratory work.
    world.server.setKnobs({ latencyMs: 50, recordArrivals: true });
    try {
      const exploratory = await world.editor.post('/v1/eval-runs', {
        modelVersion: exploratoryModel,
        datasetId: exploratoryData,
        metricSuiteId: suite.metricSuiteId,
        mode: 'exploratory',
      });
      expect(exploratory.status).toBe(202);
      const calls = (prefix: string) => world.server.arrivals().arrivals.filter((a) => a.id?.startsWith(prefix));
      await until(() => calls('x-').length >= 10, 'the exploratory run to keep the endpoint busy');

      const release = await world.editor.post('/v1/eval-runs', {
        modelVersion: releaseModel,
        datasetId: releaseData,
        metricSuiteId: suite.metricSuiteId,
        mode: 'release',
      });
      expect(release.status).toBe(202);
      const releaseRun = await waitForRun(world.editor, release.body.runId, 60_000);
      expect(releaseRun.status).toBe('succeeded');
      expect(releaseRun.cost.modelCalls).toBe(RELEASE_ROWS);

      const exploratoryRun = await waitForRun(world.editor, exploratory.body.runId, 90_000);
      expect(exploratoryRun.status).toBe('succeeded');
      expect(exploratoryRun.cost.modelCalls).toBe(EXPLORATORY_ROWS);
      expect(calls('x-')).toHaveLength(EXPLORATORY_ROWS);
      const order = world.server
        .arrivals()
        .arrivals.filter((a) => a.id)
        .sort((a, b) => a.at - b.at)
        .map((a) => a.id!.slice(0, 1));
      const firstRelease = order.indexOf('r');
      const lastRelease = order.lastIndexOf('r');
      const exploratoryBetween = order.slice(firstRelease, lastRelease).filter((kind) => kind === 'x').length;
      const exploratoryAfter = order.slice(lastRelease).filter((kind) => kind === 'x').length;
      // The comparison means something only while exploratory calls were still waiting.
      expect(exploratoryAfter).toBeGreaterThan(100);
      // First come, first served would interleave the two runs about one for one (some 40 exploratory
      // calls among the release run's 40); release first lets through at most the odd one between turns.
      expect(exploratoryBetween).toBeLessThanOrEqual(4);

      expect(world.server.stats().concurrency.maxInFlight).toBeLessThanOrEqual(LANES);
    } finally {
      world.server.resetKnobs();
    }
  }, 150_000);
});
