/**
 * The drift canary: every release-mode run judges the suite's human-labelled canary live.
 * Turning on the reference judge's bias knob (a judge drifting behind an unchanged,
 * pinned fingerprint) flags the run, and a flagged run is what a gate refuses to count.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import {
  judgeDef,
  registerCanaryDataset,
  registerGenerationDataset,
  registerGenerator,
  registerJudgeModel,
  registerJudgedSuite,
} from './judgeWorld';

let world: EvalWorld;
let dataset: { datasetId: string };
let canary: { datasetId: string; rowCount: number };
let suiteId: string;
let generator: string;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '20' });
  dataset = await registerGenerationDataset(world, { limit: 40 });
  canary = await registerCanaryDataset(world, 80);
  const judgeModel = await registerJudgeModel(world);
  suiteId = await registerJudgedSuite(
    world,
    judgeDef(judgeModel, { canaryDatasetId: canary.datasetId, agreementFloor: 0.75, maxAgreementDrop: 0.1 }),
    { purpose: 'release_blocking' },
  );
  [generator] = await registerGenerator(world, ['lead-v1']);
}, 120_000);
afterAll(() => world.close());
beforeEach(() => {
  world.server.resetKnobs();
  world.server.resetStats();
});

const run = async (mode: 'release' | 'exploratory') =>
  waitForRun(
    world.editor,
    (
      await world.editor.post('/v1/eval-runs', {
        modelVersion: generator,
        datasetId: dataset.datasetId,
        metricSuiteId: suiteId,
        mode,
      })
    ).body.runId,
  );

const storedFlags = async (runId: string) =>
  (await world.stack.pool.query('SELECT judge_flags FROM eval_runs WHERE run_id = $1', [runId])).rows[0].judge_flags;

describe('the judge drift canary', () => {
  let first: any;

  it("judges the canary in a release-mode run and records the judge's first agreement", async () => {
    first = await run('release');
    expect(first.status).toBe('succeeded');
    expect(first.judge.drift).toBe(false);
    expect(first.judge.canary).toMatchObject({
      n: 80,
      judgeErrors: 0,
      drift: false,
      reasons: [],
      agreementFloor: 0.75,
      maxAgreementDrop: 0.1,
    });
    // The canary's human scores follow the rubric with 10% of raters one point off.
    expect(first.judge.canary.agreement).toBeGreaterThan(0.8);
    expect(first.judge.canary.firstAgreement).toBe(first.judge.canary.agreement);
    expect(first.judge.canary.kappa).toBeGreaterThan(0.6);
    expect(await storedFlags(first.runId)).toMatchObject({ drift: false });
    // Canary calls are judge calls of the run: 40 examples + 80 canary rows, all counted and priced.
    expect(world.server.stats().requests.byModel['judge-v1']).toBe(120);
    expect(first.cost.judgeCalls).toBe(120);
  });

  it("flags judge_drift when the judge's bias knob moves its scores, though its fingerprint is unchanged", async () => {
    world.server.setKnobs({ judgeBias: 1 });
    const drifted = await run('release');
    expect(drifted.status).toBe('succeeded');
    expect(drifted.judge.fingerprint).toBe(first.judge.fingerprint);
    expect(drifted.judge.drift).toBe(true);
    expect(drifted.judge.canary.agreement).toBeLessThan(0.75);
    expect(drifted.judge.canary.firstAgreement).toBe(first.judge.canary.agreement);
    expect(drifted.judge.canary.reasons).toEqual(
      expect.arrayContaining(['below_agreement_floor', 'moved_from_first_agreement']),
    );
    // What the gates read: the flag on the run record.
    expect(await storedFlags(drifted.runId)).toMatchObject({
      drift: true,
      canary: { reasons: expect.arrayContaining(['below_agreement_floor']) },
    });
    // The canary is judged live, never from the judge cache (the run's own examples were cached).
    expect(world.server.stats().requests.byModel['judge-v1']).toBe(80);
    expect(drifted.judge.cacheHits).toBe(40);
  });

  it("flags a move from the judge's first agreement by more than maxAgreementDrop, with no floor set", async () => {
    // The same judge (same fingerprint, so the same first agreement) in a suite with no floor.
    const judgeModel = first.lineage.judge.modelVersion;
    const noFloor = await registerJudgedSuite(
      world,
      judgeDef(judgeModel, { canaryDatasetId: canary.datasetId, maxAgreementDrop: 0.1 }),
      { purpose: 'release_blocking' },
    );
    world.server.setKnobs({ judgeNoise: 0.3 });
    const moved = await waitForRun(
      world.editor,
      (
        await world.editor.post('/v1/eval-runs', {
          modelVersion: generator,
          datasetId: dataset.datasetId,
          metricSuiteId: noFloor,
          mode: 'release',
        })
      ).body.runId,
    );
    expect(moved.judge.fingerprint).toBe(first.judge.fingerprint);
    expect(moved.judge.drift).toBe(true);
    expect(moved.judge.canary.reasons).toEqual(['moved_from_first_agreement']);
    expect(moved.judge.canary.firstAgreement).toBe(first.judge.canary.agreement);
    expect(first.judge.canary.agreement - moved.judge.canary.agreement).toBeGreaterThan(0.1);
  });

  it('does not judge the canary in exploratory runs', async () => {
    world.server.setKnobs({ judgeBias: 1 });
    const exploratory = await run('exploratory');
    expect(exploratory.status).toBe('succeeded');
    expect(exploratory.judge.drift).toBe(false);
    expect(exploratory.judge.canary).toBeUndefined();
    expect(world.server.stats().requests.total).toBe(0); // everything else was cached
  });
});
