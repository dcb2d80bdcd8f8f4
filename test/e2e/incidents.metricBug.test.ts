/**
 * The metric-bug story, end to end through the public API: a release gate passes because
 * the suite pins recall@0.9.0 (which computes precision); the candidate is released on
 * that pass; an operator declares the bug; while the incident works, checks answer
 * `frozen`; the recompute uses only stored records (the reference model server counts
 * no request); the pass is revoked with the old and new values; the gate unfreezes; a new
 * check of the same candidate fails; and the impact report and the lineage graph show it all.
 */
import type { PoolClient } from 'pg';
import { main as cli } from '../../cli/main';
import { startEvalWorld, registerSuite, type EvalWorld } from '../../testkit/evalWorld';
import { declareMetricIncident, operator, waitForIncident } from '../helpers/incidents';
import { createGate, runCheck, sliceRows, spamModel, uploadDataset, waitForCheck } from '../../testkit/gates';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let gateId: string;
const THRESHOLD = 0.8;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_ROWS_PER_SHARD: '50' });
  // Mostly spam: keywords-v1's precision (what the bug reports) clears 0.8, its recall does not.
  const dataset = await uploadDataset(world, sliceRows({ spam: 150, 'easy-ham': 30, 'hard-ham': 20 }));
  const suite = await registerSuite(world, 'release_blocking', [
    { name: 'recall_spam', metric: 'recall', params: { positiveLabel: 'spam' }, implVersion: '0.9.0' },
    { name: 'accuracy', metric: 'accuracy' },
  ]);
  model = await spamModel(world, 'nb-v1');
  gateId = await createGate(world.editor, {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    baselineAlias: 'production',
    rules: [{ metric: 'recall_spam', kind: 'min', threshold: THRESHOLD }],
  });
}, 180_000);
afterAll(() => world.close());

const recallReason = (check: any) => check.reasons.find((r: any) => r.metric === 'recall_spam');

describe('a gate passed on a buggy metric', () => {
  let passed: any;
  let candidateRunId: string;
  let incidentId: string;
  let lock: PoolClient;

  it('passes the candidate because recall@0.9.0 reports its precision', async () => {
    passed = await runCheck(world.editor, gateId, model.v('keywords-v1'));
    expect(passed.status).toBe('pass');
    expect(recallReason(passed).candidate).toBeGreaterThanOrEqual(THRESHOLD);
    candidateRunId = passed.runs.datasets[0].candidateRunId;
    // The release happens on the strength of that pass.
    const moved = await world.editor.put(`/v1/models/${model.modelId}/aliases/production`, {
      modelVersion: model.v('keywords-v1'),
      gateCheckId: passed.checkId,
    });
    expect(moved.status).toBe(200);
    expect(moved.body.history.at(-1)).toMatchObject({ version: 'keywords-v1', gateCheckId: passed.checkId });
  });

  it('freezes the gate while the incident works: checks answer frozen, naming the incident', async () => {
    // Hold the row the recompute must replace, so the incident stays in progress while we look.
    lock = await world.stack.pool.connect();
    await lock.query('BEGIN');
    await lock.query(
      `SELECT 1 FROM metric_results WHERE run_id = $1 AND metric_name = 'recall_spam' AND superseded_at IS NULL FOR UPDATE`,
      [candidateRunId],
    );
    world.server.resetStats();
    incidentId = await declareMetricIncident(world, {
      metric: 'recall',
      badImplVersions: ['0.9.0'],
      fixedImplVersion: '1.0.0',
      note: 'recall@0.9.0 divides by predicted positives: it is precision',
    });
    const working = await waitForIncident(world, incidentId, 60_000, (b) => b.progress.step === 'recomputing');
    expect(working.status).toBe('recomputing');
    expect(working.progress.frozenGates).toEqual(expect.arrayContaining([expect.objectContaining({ gateId })]));

    const frozen = await runCheck(world.editor, gateId, model.v('keywords-v1'));
    expect(frozen.status).toBe('frozen');
    expect(frozen.reasons).toEqual([expect.objectContaining({ code: 'metric_frozen', metric: 'recall', incidentId })]);
    // CI sees it through the CLI: frozen fails closed with exit code 2.
    const lines: string[] = [];
    const exit = await cli(
      ['gate', 'check', '--gate', gateId, '--candidate', model.v('keywords-v1'), '--wait', '--format', 'json'],
      { EVALGATE_URL: world.stack.baseUrl, EVALGATE_TOKEN: world.stack.adminToken },
      { log: (l) => lines.push(l), err: (l) => lines.push(l) },
    );
    expect(exit).toBe(2);
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ status: 'frozen', exitCode: 2 });
    // Not yet re-decided: the old pass stands until the recompute is done.
    expect((await waitForCheck(world.editor, passed.checkId)).status).toBe('pass');
  });

  it('recomputes from stored records without a single model call, and revokes the pass with the old and new values', async () => {
    await lock.query('COMMIT');
    lock.release();
    const incident = await waitForIncident(world, incidentId);
    expect(incident.status).toBe('resolved');
    expect(world.server.stats().requests.total).toBe(0);

    const revoked = await waitForCheck(world.editor, passed.checkId);
    expect(revoked.status).toBe('revoked');
    expect(revoked.reasons[0]).toMatchObject({ code: 'revoked', incidentId });
    const rule = recallReason(revoked);
    expect(rule.verdict).toBe('fail');
    expect(rule.previous.candidate).toBe(recallReason(passed).candidate);
    expect(rule.candidate).toBeLessThan(THRESHOLD);
    const short = (v: number) => Number(v.toFixed(4)).toString();
    expect(rule.message).toContain(`was ${short(rule.previous.candidate)}`);
    expect(rule.message).toContain(`(pass) when decided; recomputed ${short(rule.candidate)}`);

    const change = incident.report.valuesChanged.listed.find(
      (c: any) => c.runId === candidateRunId && c.metricName === 'recall_spam',
    );
    expect(change).toMatchObject({
      oldImplVersion: '0.9.0',
      newImplVersion: '1.0.0',
      oldValue: recallReason(passed).candidate,
      newValue: rule.candidate,
    });
    expect(incident.report.decisions.revoked).toEqual(
      expect.arrayContaining([expect.objectContaining({ checkId: passed.checkId, gateId })]),
    );
    expect(incident.report.aliasMovesOnRevokedDecisions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ checkId: passed.checkId, alias: 'production', modelVersion: model.v('keywords-v1') }),
      ]),
    );
    expect(incident.report.frozen).toEqual([
      expect.objectContaining({ metric: 'recall', unfrozenAt: expect.any(String) }),
    ]);
  });

  it('unfreezes: a new check of the same candidate now fails on the true recall', async () => {
    world.server.resetStats();
    const again = await runCheck(world.editor, gateId, model.v('keywords-v1'));
    expect(again.status).toBe('fail');
    expect(recallReason(again)).toMatchObject({ verdict: 'fail', candidate: expect.any(Number) });
    expect(recallReason(again).candidate).toBeLessThan(THRESHOLD);
    // It reused the recomputed run: still no model call.
    expect(again.runs.datasets[0].candidateRunId).toBe(candidateRunId);
    expect(world.server.stats().requests.total).toBe(0);
  });

  it('shows the whole story in the lineage graph of recall@0.9.0', async () => {
    const res = await operator(world).get('/v1/lineage/metric_impl/recall@0.9.0?direction=downstream');
    expect(res.status).toBe(200);
    const ids = new Set(res.body.nodes.map((n: any) => n.id));
    expect(ids).toContain(`eval_run:${candidateRunId}`);
    expect(ids).toContain(`gate_check:${passed.checkId}`);
    expect(ids).toContain(`incident:${incidentId}`);
    const revocation = res.body.edges.find((e: any) => e.from === `incident:${incidentId}` && e.relation === 'revoked');
    expect(revocation).toBeDefined();
    expect(res.body.edges).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: `gate_check:${passed.checkId}`, relation: 'allowed' })]),
    );
  });
});
