/**
 * Per-team daily call quotas (EVALGATE_TEAM_DAILY_CALL_QUOTA): shards reserve model and judge calls from the
 * quota of the team that owns the model, in blocks, as they do from budgets; a run that finds it spent fails
 * with error class quota_exceeded, keeping partial results, and never makes more calls than the quota allows.
 */
import { principal, unique } from '../../../testkit/stack';
import {
  registerSpamDataset,
  registerSpamModel,
  registerSuite,
  startEvalWorld,
  waitForRun,
  type EvalWorld,
} from '../../../testkit/evalWorld';

const QUOTA = 120;
let world: EvalWorld;
let dataset: { datasetId: string; version: number; rowCount: number };
let suite: { metricSuiteId: string };

beforeAll(async () => {
  world = await startEvalWorld({
    EVALGATE_TEAM_DAILY_CALL_QUOTA: String(QUOTA),
    EVALGATE_BUDGET_BLOCK_CALLS: '10',
    EVALGATE_ROWS_PER_SHARD: '100',
  });
  dataset = await registerSpamDataset(world, { mix: { 'easy-ham': 150, 'hard-ham': 50, spam: 100 } });
  suite = await registerSuite(world);
}, 120_000);
afterAll(() => world.close());

const today = () => new Date().toISOString().slice(0, 10);
const reserved = async (team: string) =>
  Number(
    (
      await world.stack.pool.query('SELECT reserved_calls FROM team_call_quotas WHERE team = $1 AND day = $2::date', [
        team,
        today(),
      ])
    ).rows[0]?.reserved_calls ?? 0,
  );

describe('team daily call quotas', () => {
  it("fails a run with quota_exceeded once the model's team has spent its calls, never calling past it", async () => {
    const model = await registerSpamModel(world, ['nb-v1', 'keywords-v1']);
    world.server.resetStats();
    const started = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.versions[0],
      datasetId: dataset.datasetId,
      metricSuiteId: suite.metricSuiteId,
    });
    expect(started.status).toBe(202);
    const run = await waitForRun(world.editor, started.body.runId);
    expect([run.status, run.error?.class]).toEqual(['failed', 'quota_exceeded']);
    expect(run.error.message).toMatch(/daily model and judge call quota/);
    const calls = world.server.stats().requests.total;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(QUOTA);
    // What the shards did not use went back: the team is charged for the calls made, up to the quota.
    expect(await reserved(world.team)).toBeLessThanOrEqual(QUOTA);
    expect(await reserved(world.team)).toBeGreaterThanOrEqual(calls);

    // The next run of the same team gets at most what the first gave back, and fails the same way: the team's
    // calls over the day never pass the quota.
    const before = await reserved(world.team);
    world.server.resetStats();
    const second = await world.editor.post('/v1/eval-runs', {
      modelVersion: model.versions[1],
      datasetId: dataset.datasetId,
      metricSuiteId: suite.metricSuiteId,
    });
    const secondRun = await waitForRun(world.editor, second.body.runId);
    expect([secondRun.status, secondRun.error?.class]).toEqual(['failed', 'quota_exceeded']);
    expect(world.server.stats().requests.total).toBeLessThanOrEqual(QUOTA - before);
    expect(calls + world.server.stats().requests.total).toBeLessThanOrEqual(QUOTA);
  });

  it("leaves other teams' quotas alone", async () => {
    const team = unique('other-ml');
    const editor = await principal(world.stack, 'other-editor', [
      { team, roles: ['editor'] },
      { team: world.team, roles: ['viewer'] },
    ]);
    const model = await editor.post('/v1/models', { name: unique('small'), ownerTeam: team });
    const version = await editor.post(`/v1/models/${model.body.modelId}/versions`, {
      version: 'v1',
      endpoint: { protocol: 'json-predict', url: world.server.predictUrl('nb-small-v1') },
    });
    expect(version.status).toBe(201);
    const small = await registerSpamDataset(world, { mix: { 'easy-ham': 30, spam: 20 } });
    world.server.resetStats();
    const started = await editor.post('/v1/eval-runs', {
      modelVersion: version.body.modelVersion,
      datasetId: small.datasetId,
      metricSuiteId: suite.metricSuiteId,
    });
    expect(started.status).toBe(202);
    const run = await waitForRun(editor, started.body.runId);
    expect(run.status).toBe('succeeded');
    expect(world.server.stats().requests.total).toBe(50);
    expect(await reserved(team)).toBe(50);
  });
});
