/**
 * Early promotion of an online experiment through a governed override, against the real stack:
 * the guardrails have not decided (no traffic), an editor requests promotion with a reason, the
 * requester's own approval is refused, one approval leaves it running, the second approver's
 * approval promotes it (the alias moves, the decision says `override`, the history names the
 * override); an experiment already rolled back takes no request (409).
 */
import { aliasHistory } from '../../../domain/models/dal';
import { passedCheck, waitForExperiment, type spamModel } from '../../../testkit/gates';
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { principal, unique, type ApiClient } from '../../../testkit/stack';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let checkId: string;
let approvers: ApiClient[];

const errorRate = [{ name: 'error_rate', event: 'error', direction: 'lower_is_better', margin: 0.05 }];

async function start() {
  const res = await world.editor.post('/v1/experiments', {
    name: unique('exp'),
    ownerTeam: world.team,
    candidate: model.v('logreg-v1'),
    gateCheckId: checkId,
    guardrails: errorRate,
    ramp: [{ percent: 10, minSeconds: 3600, minUnits: 1_000_000 }],
    checkEverySeconds: 1,
  });
  if (res.status !== 201) throw new Error(`experiment: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.experimentId as string;
}

const waitFor = (experimentId: string, done: (e: any) => boolean) =>
  waitForExperiment(world.editor, experimentId, done, 30_000);

beforeAll(async () => {
  world = await startEvalWorld();
  const passed = await passedCheck(world);
  model = passed.model;
  checkId = passed.check.checkId;
  approvers = await Promise.all(
    ['approver-a', 'approver-b'].map((n) => principal(world.stack, n, [{ team: world.team, roles: ['approver'] }])),
  );
}, 300_000);
afterAll(() => world.close());

describe('early promotion through an override', () => {
  it('refuses an experiment already rolled back (409) and a request without a reason (400)', async () => {
    const id = await start();
    const missing = await world.editor.post(`/v1/experiments/${id}/promotion-requests`, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.field).toBe('reason');
    expect((await world.editor.post(`/v1/experiments/${id}/rollback`, { reason: 'not now' })).status).toBe(202);
    await waitFor(id, (e) => e.status === 'rolled_back');
    const res = await world.editor.post(`/v1/experiments/${id}/promotion-requests`, { reason: 'ship it anyway' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('already_decided');
  }, 60_000);

  it('promotes on the second distinct approval, never on the requester’s own', async () => {
    const id = await start();
    const running = await waitFor(id, (e) => e.percent === 10);
    expect(running.guardrails[0].verdict).not.toBe('pass');
    const requested = await world.editor.post(`/v1/experiments/${id}/promotion-requests`, {
      reason: 'the launch date is fixed; we accept the risk',
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ status: 'pending', requiredApprovals: 2 });
    const overrideId = requested.body.overrideId as string;

    const own = await world.editor.post(`/v1/overrides/${overrideId}/approvals`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('self_approval');

    const first = await approvers[0].post(`/v1/overrides/${overrideId}/approvals`, { comment: 'ok' });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'requested', experimentId: id, experimentStatus: 'running' });
    const again = await approvers[0].post(`/v1/overrides/${overrideId}/approvals`, {});
    expect(again.body.error.code).toBe('already_approved');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await world.editor.get(`/v1/experiments/${id}`)).body.status).toBe('running');

    const second = await approvers[1].post(`/v1/overrides/${overrideId}/approvals`, {});
    expect(second.status).toBe(202);
    expect(second.body.status).toBe('granted');
    const promoted = await waitFor(id, (e) => e.status === 'promoted');
    expect(promoted).toMatchObject({ percent: 100, decision: { status: 'promoted', reason: 'override' } });
    expect(promoted.decision.message).toContain(overrideId);
    expect(promoted.history.at(-1)).toMatchObject({ event: 'promoted', reason: 'override', overrideId });
    const m = (await world.editor.get(`/v1/models/${model.modelId}`)).body;
    expect(m.aliases.production).toBe(model.v('logreg-v1'));
    const history = await aliasHistory(world.stack.pool, model.modelId, 'production');
    expect(history.at(-1)).toMatchObject({ experiment_id: id });
    expect((await world.editor.get(`/v1/overrides/${overrideId}`)).body).toMatchObject({
      status: 'granted',
      endedReason: 'promoted',
      experimentStatus: 'promoted',
    });
    const late = await approvers[1].post(`/v1/overrides/${overrideId}/approvals`, {});
    expect(late.status).toBe(409);
  }, 90_000);
});
