/**
 * A check that cannot decide in time decides `error` (fail closed) — and the runs it
 * started keep going, so the next check reuses them instead of paying for them again.
 */
import { startEvalWorld, waitForRun, type EvalWorld } from '../../../testkit/evalWorld';
import {
  codes,
  createGate,
  releaseSuite,
  runCheck,
  sliceRows,
  spamGate,
  spamModel,
  uploadDataset,
  waitForCheck,
} from '../../../testkit/gates';

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_GATE_CHECK_TIMEOUT_SECONDS: '3', EVALGATE_OVERRIDE_WINDOW_SECONDS: '5' });
}, 120_000);
afterAll(() => world.close());

it('decides error on a timeout, and a later check reuses the run the timed-out one started', async () => {
  const { model, gateId } = await spamGate(world, {
    rows: { 'easy-ham': 10, 'hard-ham': 10, spam: 10 },
    metrics: [{ name: 'accuracy', metric: 'accuracy' }],
    rules: [{ metric: 'accuracy', kind: 'max_regression', threshold: 0.05 }],
  });
  // Calls far slower than the 3 s timeout, so "decided at the timeout" is far from "waited for the calls".
  world.server.setKnobs({ latencyMs: 15_000, faultModels: ['logreg-v1'] });
  const started = Date.now();
  const timedOut = await runCheck(world.editor, gateId, model.v('logreg-v1'));
  expect(timedOut.status).toBe('error');
  expect(codes(timedOut)).toEqual(['timeout']);
  expect(timedOut.reasons[0].message).toMatch(/did not decide within 3 s \(phase: running\)/);
  expect(Date.now() - started).toBeLessThan(10_000);
  world.server.resetKnobs(); // the calls in flight still take 15 s; the rest are fast

  const [d] = timedOut.runs.datasets;
  expect((await waitForRun(world.editor, d.candidateRunId, 60_000)).status).toBe('succeeded');
  const again = await runCheck(world.editor, gateId, model.v('logreg-v1'));
  expect(again.checkId).not.toBe(timedOut.checkId);
  expect(again.status).toBe('pass');
  expect(again.runs.datasets[0]).toMatchObject({ candidateRunId: d.candidateRunId, started: [] });
  // The timed-out check stays decided as it was.
  expect((await waitForCheck(world.editor, timedOut.checkId)).status).toBe('error');
});
