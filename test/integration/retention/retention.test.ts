/**
 * Retention with legal holds, against the real stack: restricted datasets live 10 s, a
 * public one the default year. Three judged runs write per-example records, transcripts,
 * prediction- and judge-cache entries; one restricted version is put under a legal hold.
 * A sweep (retentionWorkflow, run directly) deletes exactly the unheld restricted run's
 * outputs and cache entries and keeps its results; after the hold is released, a sweep the
 * Temporal Schedule starts (triggered, not waited for) deletes the held one's too.
 */
import { WORKFLOW_TYPES, retentionSweepWorkflowId, taskQueueFor } from '../../../common/names';
import type { SweepReport } from '../../../domain/retention/sweep';
import { datasetJsonl } from '../../../testkit/corpus/writeDatasets';
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import { principal, unique } from '../../../testkit/stack';
import { ensureRetentionSchedule } from '../../../workers/retentionSchedule';
import type { retentionWorkflow } from '../../../workflows/retention';
import { judgeDef, registerGenerator, registerJudgeModel, registerJudgedSuite } from '../judge/judgeWorld';

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld({
    EVALGATE_RETENTION_RESTRICTED: '10s',
    EVALGATE_ROWS_PER_SHARD: '10',
    EVALGATE_PART_ROWS: '5',
  });
}, 120_000);
afterAll(() => world.close());

interface Subject {
  name: string;
  datasetId: string;
  version: number;
  runId: string;
  modelVersionId: string;
  judgeModelVersionId: string;
  suiteId: string;
}

/** A generation dataset whose inputs no other dataset shares (so its cache entries are its own), judged by a judge of its own. */
async function judgedRun(name: string, classification: 'restricted' | 'public'): Promise<Subject> {
  const created = await world.editor.post('/v1/datasets', {
    name: unique(name),
    taskType: 'generation',
    ownerTeam: world.team,
  });
  const rows = datasetJsonl('generation', { limit: 20 })
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .map((row) => JSON.stringify({ ...row, input: `[${name}] ${row.input}` }))
    .join('\n');
  const up = await world.editor.ndjson(
    `/v1/datasets/${created.body.datasetId}/versions?labelPolicy=human_reviewed&visibility=internal&classification=${classification}`,
    rows + '\n',
  );
  expect(up.status).toBe(201);
  const [generator] = await registerGenerator(world, ['lead-v1']);
  const judge = await registerJudgeModel(world);
  const suiteId = await registerJudgedSuite(world, judgeDef(judge));
  const started = await world.editor.post('/v1/eval-runs', {
    modelVersion: generator,
    datasetId: created.body.datasetId,
    metricSuiteId: suiteId,
  });
  expect(started.status).toBe(202);
  const versionId = async (modelVersion: string) =>
    (
      await world.stack.pool.query<{ id: string }>(
        `SELECT mv.model_version_id AS id FROM model_versions mv JOIN models m USING (model_id)
          WHERE m.name || '@' || mv.version = $1`,
        [modelVersion],
      )
    ).rows[0].id;
  return {
    name,
    datasetId: created.body.datasetId,
    version: up.body.version,
    runId: started.body.runId,
    modelVersionId: await versionId(generator),
    judgeModelVersionId: await versionId(judge),
    suiteId,
  };
}

/** What a subject has stored: its run's objects by kind, and its cache entries. */
async function stored(s: Subject) {
  const keys = await world.stack.storage.list(`runs/${s.runId}/`);
  const count = async (sql: string, id: string) => (await world.stack.pool.query<{ n: number }>(sql, [id])).rows[0].n;
  return {
    parts: keys.filter((k) => /\/part-\d{4}\.jsonl$/.test(k)).length,
    transcripts: keys.filter((k) => /\/judge-part-\d{4}\.jsonl$/.test(k)).length,
    states: keys.filter((k) => k.endsWith('/state.json')).length,
    predictions: await count(
      'SELECT count(*)::int AS n FROM prediction_cache WHERE model_version_id = $1',
      s.modelVersionId,
    ),
    judgements: await count(
      'SELECT count(*)::int AS n FROM judge_cache WHERE judge_model_version_id = $1',
      s.judgeModelVersionId,
    ),
  };
}

const sweepDirectly = (label: string) =>
  world.stack.temporal.workflow.execute<typeof retentionWorkflow>(WORKFLOW_TYPES.retention, {
    taskQueue: taskQueueFor(world.stack.config.EVALGATE_TASK_QUEUE_PREFIX, 'exploratory'),
    workflowId: retentionSweepWorkflowId(unique(label)),
    // Small batches: the sweep's loop over claims and activity calls runs more than once.
    args: [{ batchSize: 1, maxBatches: 2 }],
  });

const getRun = async (runId: string) => {
  const res = await world.editor.get(`/v1/eval-runs/${runId}`);
  expect(res.status).toBe(200);
  return res.body;
};

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('retention with legal holds', () => {
  let held: Subject;
  let unheld: Subject;
  let kept: Subject;
  let holdId: string;
  let twinRunId: string;
  let comparison: any;
  let lineage: unknown;
  const lineagePath = () => `/v1/lineage/eval_run/${unheld.runId}?direction=upstream`;
  const before = new Map<string, Awaited<ReturnType<typeof stored>>>();
  const results = new Map<string, unknown>();
  const comparisonPath = () => `/v1/eval-runs/${twinRunId}/comparison?baseline=${unheld.runId}`;

  beforeAll(async () => {
    [held, unheld, kept] = await Promise.all([
      judgedRun('held', 'restricted'),
      judgedRun('unheld', 'restricted'),
      judgedRun('kept', 'public'),
    ]);
    // A second model on the unheld version, to compare with: comparisons read both runs' records.
    const [twinModel] = await registerGenerator(world, ['lead-v1']);
    const twin = await world.editor.post('/v1/eval-runs', {
      modelVersion: twinModel,
      datasetId: unheld.datasetId,
      metricSuiteId: unheld.suiteId,
    });
    twinRunId = twin.body.runId;
    for (const runId of [unheld.runId, twinRunId])
      expect((await waitForRun(world.editor, runId)).status).toBe('succeeded');
    // Within the 10 s: the comparison is computed (and cached, an aggregate); its examples are readable.
    const compared = await world.editor.get(comparisonPath());
    expect(compared.status).toBe(200);
    comparison = compared.body;
    lineage = (await world.editor.get(lineagePath())).body;
    expect(
      (await world.editor.get(`/v1/eval-runs/${twinRunId}/comparison/examples?baseline=${unheld.runId}`)).status,
    ).toBe(200);
    for (const s of [held, unheld, kept]) {
      const run = await waitForRun(world.editor, s.runId);
      expect(run.status).toBe('succeeded');
      results.set(s.name, run.results);
      before.set(s.name, await stored(s));
    }
  }, 180_000);

  it('stores outputs of every kind for each run, and shows when they expire', async () => {
    for (const s of [held, unheld, kept]) {
      const b = before.get(s.name)!;
      // 20 rows in 2 shards of 10, parts of 5: 4 parts, each with its transcripts; one judgement and prediction per row.
      expect(b).toEqual({ parts: 4, transcripts: 4, states: 2, predictions: 20, judgements: 20 });
    }
    const run = await getRun(unheld.runId);
    const finished = Date.parse(run.timing.finishedAt);
    expect(Date.parse(run.retention.expiresAt) - finished).toBe(10_000);
    const year = await getRun(kept.runId);
    expect(Date.parse(year.retention.expiresAt) - Date.parse(year.timing.finishedAt)).toBe(365 * 86_400_000);
    expect((await world.editor.get(`/v1/eval-runs/${unheld.runId}/judge-transcripts`)).status).toBe(200);
  });

  it('places a legal hold for the dataset’s editors only, with a reason', async () => {
    const path = `/v1/datasets/${held.datasetId}/versions/${held.version}/holds`;
    expect((await world.editor.post(path, { reason: '' })).body.error).toMatchObject({
      code: 'invalid_request',
      field: 'reason',
    });
    const outsider = await principal(world.stack, 'outsider', [{ team: unique('other'), roles: ['editor'] }]);
    expect((await outsider.post(path, { reason: 'litigation' })).status).toBe(403);
    const placed = await world.editor.post(path, { reason: 'litigation hold, matter 42' });
    expect(placed.status).toBe(201);
    holdId = placed.body.holdId;
    expect((await getRun(held.runId)).retention).toMatchObject({ held: true, expired: false });
    expect((await world.editor.post(`/v1/datasets/${held.datasetId}/versions/99/holds`, { reason: 'x' })).status).toBe(
      404,
    );
  });

  it('answers 410 expired for per-example reads once the retention has passed, before any sweep', async () => {
    const run = await waitUntil('the unheld run to expire', async () => {
      const r = await getRun(unheld.runId);
      return r.retention.expired ? r : undefined;
    });
    expect(run.retention).toMatchObject({ expired: true, held: false });
    const read = await world.editor.get(`/v1/eval-runs/${unheld.runId}/judge-transcripts`);
    expect(read.status).toBe(410);
    expect(read.body.error.code).toBe('expired');
    const examples = await world.editor.get(`/v1/eval-runs/${twinRunId}/comparison/examples?baseline=${unheld.runId}`);
    expect(examples.status).toBe(410);
    expect(examples.body.error.code).toBe('expired');
    // The comparison computed before expiry is an aggregate: it stays readable.
    expect((await world.editor.get(comparisonPath())).body).toEqual(comparison);
    // The held run is just as old, and stays readable.
    expect((await getRun(held.runId)).retention).toMatchObject({ expired: false, held: true });
    expect((await world.editor.get(`/v1/eval-runs/${held.runId}/judge-transcripts`)).status).toBe(200);
  });

  it('sweeps exactly the unheld expired run: records, transcripts and cache entries go; results, states and lineage stay', async () => {
    const report: SweepReport = await sweepDirectly('first');
    expect(await stored(unheld)).toEqual({ parts: 0, transcripts: 0, states: 2, predictions: 0, judgements: 0 });
    expect(await stored(held)).toEqual(before.get('held'));
    expect(await stored(kept)).toEqual(before.get('kept'));

    const run = await getRun(unheld.runId);
    expect(run.status).toBe('succeeded');
    expect(run.results).toEqual(results.get('unheld'));
    expect(run.lineage.dataset).toBeDefined();
    expect((await world.editor.get(lineagePath())).body).toEqual(lineage);
    expect((await world.editor.get(comparisonPath())).body).toEqual(comparison);
    expect(run.retention).toMatchObject({ expired: true, held: false });
    expect((await world.editor.get(`/v1/eval-runs/${unheld.runId}/judge-transcripts`)).body.error.code).toBe('expired');

    // Other tests' data shares the database: the report counts at least this run's outputs.
    expect(report.runsExpired).toBeGreaterThanOrEqual(1);
    expect(report.recordObjects).toBeGreaterThanOrEqual(4);
    expect(report.transcriptObjects).toBeGreaterThanOrEqual(4);
    expect(report.objectBytes).toBeGreaterThan(0);
    expect(report.predictionCacheEntries).toBeGreaterThanOrEqual(20);
    expect(report.judgeCacheEntries).toBeGreaterThanOrEqual(20);
    expect(report.runsHeld).toBeGreaterThanOrEqual(1);
    const audit = await world.stack.pool.query(
      `SELECT detail FROM audit_log WHERE action = 'retention.sweep' AND entity_id = $1`,
      [report.sweepId],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].detail).toMatchObject({ runsExpired: report.runsExpired, objectBytes: report.objectBytes });
    expect(audit.rows[0].detail.durationMs).toBeGreaterThanOrEqual(0);

    // A second sweep finds nothing more of this run to delete, and still keeps the held one.
    await sweepDirectly('again');
    expect(await stored(held)).toEqual(before.get('held'));
  });

  it('releases the hold; the next scheduled sweep deletes what it kept', async () => {
    const other = await world.editor.delete(`/v1/holds/00000000-0000-4000-8000-000000000000`);
    expect(other.status).toBe(404);
    const released = await world.editor.delete(`/v1/holds/${holdId}`);
    expect(released.status).toBe(200);
    expect((await world.editor.delete(`/v1/holds/${holdId}`)).body.releasedAt).toBe(released.body.releasedAt);
    expect((await getRun(held.runId)).retention).toMatchObject({ expired: true, held: false });

    const config = { ...world.stack.config, EVALGATE_RETENTION_SWEEP_INTERVAL: 3600 };
    const scheduleId = await ensureRetentionSchedule(world.stack.temporal, config);
    const handle = world.stack.temporal.schedule.getHandle(scheduleId);
    try {
      // Idempotent at every start: a second call updates the interval instead of failing.
      await ensureRetentionSchedule(world.stack.temporal, { ...config, EVALGATE_RETENTION_SWEEP_INTERVAL: 7200 });
      const described = await handle.describe();
      expect(described.spec.intervals?.[0]?.every).toBe(7_200_000);
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: WORKFLOW_TYPES.retention });

      await handle.trigger();
      await waitUntil('the scheduled sweep to delete the released run', async () => {
        const now = await stored(held);
        return now.parts === 0 && now.predictions === 0 && now.judgements === 0 ? now : undefined;
      });
      expect(await stored(held)).toEqual({ parts: 0, transcripts: 0, states: 2, predictions: 0, judgements: 0 });
      expect(await stored(kept)).toEqual(before.get('kept'));
      expect((await getRun(held.runId)).results).toEqual(results.get('held'));
      const started = (await handle.describe()).info.recentActions;
      expect(started.length).toBeGreaterThanOrEqual(1);
    } finally {
      await handle.delete();
    }
  }, 90_000);
});
