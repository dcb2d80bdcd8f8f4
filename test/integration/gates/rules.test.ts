/**
 * Gate rules decided on evidence: each rule kind passing and failing on real runs of the
 * reference classifiers, non-inferiority deciding differently from a point-value rule on
 * a small noisy dataset, must_pass over a known-failures dataset, non-blocking rules, and
 * the decision record (exactly the results and runs it used).
 */
import { sharedModelCatalog, type ClassifierModel } from '../../../examples/modelServer/models/catalog';
import { startEvalWorld, type EvalWorld } from '../../helpers/evalWorld';
import { createGate, reasonFor, releaseSuite, runCheck, sliceRows, spamModel, uploadDataset } from './helpers';

let world: EvalWorld;
let mixed: { datasetId: string };
let suite: { metricSuiteId: string };
let model: Awaited<ReturnType<typeof spamModel>>;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '5' });
  mixed = await uploadDataset(world, sliceRows({ 'easy-ham': 60, 'hard-ham': 69, spam: 60 }));
  suite = await releaseSuite(world, [
    { name: 'accuracy', metric: 'accuracy' },
    { name: 'f1_spam', metric: 'f1', params: { average: 'binary', positiveLabel: 'spam' } },
    { name: 'log_loss', metric: 'log_loss', params: { positiveLabel: 'spam' } },
  ]);
  model = await spamModel(world);
}, 180_000);
afterAll(() => world.close());

const gate = (rules: unknown[], datasetIds = [mixed.datasetId], extra: Record<string, unknown> = {}) =>
  createGate(world.editor, { ownerTeam: world.team, metricSuiteId: suite.metricSuiteId, datasetIds, baselineAlias: 'production', rules, ...extra });

describe('a release gate', () => {
  it('passes a better candidate with one reason per rule: values, interval, threshold, verdict', async () => {
    const gateId = await gate([
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.01 },
      { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
      { metric: 'accuracy', kind: 'min', threshold: 0.9 },
    ]);
    const check = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    expect(check.status).toBe('pass');
    expect(check.reasons).toHaveLength(3);
    const hardHam = reasonFor(check, 'accuracy[hard-ham]:max_regression');
    expect(hardHam).toMatchObject({ verdict: 'pass', kind: 'max_regression', slice: 'hard-ham', threshold: 0.05, blocking: true });
    expect(hardHam.candidate).toBeGreaterThan(hardHam.baseline);
    expect(hardHam.delta).toBeCloseTo(hardHam.candidate - hardHam.baseline, 12);
    expect(hardHam.deltaCiLow).toBeLessThanOrEqual(hardHam.delta);
    expect(hardHam.deltaCiHigh).toBeGreaterThanOrEqual(hardHam.delta);
    expect(hardHam.message).toMatch(/hard-ham/);
    expect(check.baseline).toEqual({ alias: 'production', modelVersion: model.v('nb-v1') });
    // Both runs were missing, so the check started them, in release mode.
    const [dataset] = check.runs.datasets;
    expect(dataset.started.sort()).toEqual([dataset.candidateRunId, dataset.baselineRunId].sort());
    const runs = await world.stack.pool.query('SELECT run_id, mode, status FROM eval_runs WHERE run_id = ANY($1::uuid[])', [[dataset.candidateRunId, dataset.baselineRunId]]);
    expect(runs.rows.map((r) => [r.mode, r.status])).toEqual([['release', 'succeeded'], ['release', 'succeeded']]);
  });

  it('records exactly the result rows and runs the decision used', async () => {
    const gateId = await gate([{ metric: 'f1_spam', kind: 'min', threshold: 0.5 }]);
    const check = await runCheck(world.editor, gateId, model.v('logreg-v1'));
    const { rows: [decision] } = await world.stack.pool.query(
      `SELECT status, cause, result_ids::text[], run_ids::text[] FROM gate_decisions WHERE check_id = $1`, [check.checkId]);
    const [dataset] = check.runs.datasets;
    const { rows: used } = await world.stack.pool.query(
      `SELECT result_id::text, run_id FROM metric_results WHERE run_id = ANY($1::uuid[]) AND metric_name = 'f1_spam' AND superseded_at IS NULL`,
      [[dataset.candidateRunId, dataset.baselineRunId]]);
    expect(decision.status).toBe('pass');
    expect(decision.cause).toBe('check');
    expect(decision.result_ids.sort()).toEqual(used.map((r) => r.result_id).sort());
    expect(decision.run_ids.sort()).toEqual([dataset.candidateRunId, dataset.baselineRunId].sort());
    // The runs already existed (the first test made them): nothing was started this time.
    expect(dataset.started).toEqual([]);
  });

  it('fails a regressed candidate on the hard-ham slice, naming the values', async () => {
    const gateId = await gate([
      { metric: 'accuracy', kind: 'max_regression', threshold: 0.2 },
      { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
    ]);
    const check = await runCheck(world.editor, gateId, model.v('nb-small-v1'));
    expect(check.status).toBe('fail');
    expect(reasonFor(check, 'accuracy:max_regression').verdict).toBe('pass');
    const hardHam = reasonFor(check, 'accuracy[hard-ham]:max_regression');
    expect(hardHam.verdict).toBe('fail');
    expect(hardHam.baseline - hardHam.candidate).toBeGreaterThan(0.05);
    expect(hardHam.message).toMatch(/regressed too far/);
    expect(hardHam.deltaCiHigh).toBeLessThan(0);
  });
});

describe('rule kinds, each passing and failing', () => {
  const cases: [string, Record<string, unknown>, string, 'pass' | 'fail'][] = [
    ['min passes', { metric: 'accuracy', kind: 'min', threshold: 0.9 }, 'nb-v1', 'pass'],
    ['min fails', { metric: 'accuracy', kind: 'min', threshold: 0.9 }, 'keywords-v1', 'fail'],
    ['max passes (log loss, lower is better)', { metric: 'log_loss', kind: 'max', threshold: 0.3 }, 'logreg-v1', 'pass'],
    ['max fails', { metric: 'log_loss', kind: 'max', threshold: 0.3 }, 'keywords-v1', 'fail'],
    ['max_regression passes', { metric: 'accuracy', kind: 'max_regression', threshold: 0.01 }, 'logreg-v1', 'pass'],
    ['max_regression fails', { metric: 'accuracy', kind: 'max_regression', threshold: 0.01 }, 'nb-small-v1', 'fail'],
    ['relative max_regression passes', { metric: 'f1_spam', kind: 'max_regression', threshold: 0.05, relative: true }, 'logreg-v1', 'pass'],
    ['relative max_regression fails', { metric: 'f1_spam', kind: 'max_regression', threshold: 0.05, relative: true }, 'keywords-v1', 'fail'],
    ['max_regression on a lower-is-better metric fails when it rises', { metric: 'log_loss', kind: 'max_regression', threshold: 0.01 }, 'keywords-v1', 'fail'],
    ['non_inferiority passes', { metric: 'accuracy', kind: 'non_inferiority', margin: 0.1 }, 'logreg-v1', 'pass'],
    ['non_inferiority fails', { metric: 'accuracy', kind: 'non_inferiority', margin: 0.02 }, 'nb-small-v1', 'fail'],
  ];
  it.each(cases)('%s', async (_name, rule, candidate, expected) => {
    const check = await runCheck(world.editor, await gate([rule]), model.v(candidate));
    expect(check.status).toBe(expected);
    expect(check.reasons[0]).toMatchObject({ code: 'rule', verdict: expected, kind: rule.kind });
  });
});
