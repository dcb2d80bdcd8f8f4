/**
 * Governed overrides: requested with a justification, approved by distinct approvers of
 * the gate's owning team (never the requester), delivered to the check's workflow as
 * signals, granted when enough arrive, expired by the workflow's timers — every step in
 * the audit log and counted in /metrics.
 */
import { startEvalWorld, type EvalWorld } from '../../../testkit/evalWorld';
import { client, principal, unique, type ApiClient } from '../../../testkit/stack';
import {
  createGate,
  releaseSuite,
  runCheck,
  sliceRows,
  spamModel,
  uploadDataset,
  waitForCheck,
} from '../../../testkit/gates';

let world: EvalWorld;
let model: Awaited<ReturnType<typeof spamModel>>;
let gateId: string;
let shortTtlGateId: string;
let approverA: ApiClient & { principalId: string };
let approverB: ApiClient & { principalId: string };
let teamAdmin: ApiClient & { principalId: string };
let adminId: string;
let viewer: ApiClient & { principalId: string };
let otherTeamApprover: ApiClient & { principalId: string };
let stranger: ApiClient & { principalId: string };

const RULES = [
  { metric: 'accuracy', kind: 'max_regression', threshold: 0.3 },
  { metric: 'accuracy', slice: 'hard-ham', kind: 'max_regression', threshold: 0.05 },
  { metric: 'accuracy', kind: 'max_regression', threshold: 0.01, name: 'overall-tight' },
];

beforeAll(async () => {
  world = await startEvalWorld({ EVALGATE_OVERRIDE_WINDOW_SECONDS: '300', EVALGATE_OVERRIDE_REQUEST_TTL_SECONDS: '8' });
  const dataset = await uploadDataset(world, sliceRows({ 'easy-ham': 20, 'hard-ham': 40, spam: 20 }));
  const suite = await releaseSuite(world, [{ name: 'accuracy', metric: 'accuracy' }]);
  model = await spamModel(world);
  const base = {
    ownerTeam: world.team,
    metricSuiteId: suite.metricSuiteId,
    datasetIds: [dataset.datasetId],
    rules: RULES,
  };
  gateId = await createGate(world.editor, base);
  shortTtlGateId = await createGate(world.editor, { ...base, overrideTtlHours: 0.001 });
  const other = unique('other');
  [approverA, approverB, viewer, otherTeamApprover, stranger] = await Promise.all([
    principal(world.stack, 'approver-a', [{ team: world.team, roles: ['approver'] }]),
    principal(world.stack, 'approver-b', [{ team: world.team, roles: ['approver'] }]),
    principal(world.stack, 'viewer', [{ team: world.team, roles: ['viewer'] }]),
    principal(world.stack, 'other-approver', [
      { team: other, roles: ['approver'] },
      { team: world.team, roles: ['viewer'] },
    ]),
    principal(world.stack, 'stranger', [{ team: other, roles: ['editor', 'approver'] }]),
  ]);
  teamAdmin = await principal(world.stack, 'team-admin', [{ team: world.team, roles: ['admin'] }]);
  adminId = (await client(world.stack.baseUrl, world.stack.adminToken).get('/v1/principals/me')).body.principalId;
}, 180_000);
afterAll(() => world.close());

/** A fresh failing check of the regressed candidate (its runs are reused after the first). */
const failingCheck = async (gate = gateId) => {
  const check = await runCheck(world.editor, gate, model.v('nb-small-v1'));
  expect(check.status).toBe('fail');
  return check;
};
const requestOverride = (checkId: string, body: Record<string, unknown> = {}, as: ApiClient = world.editor) =>
  as.post(`/v1/gate-checks/${checkId}/override-requests`, {
    justification: 'hard-ham regression accepted for the holiday spam wave; fix tracked in ML-1234',
    ...body,
  });
const approve = (overrideId: string, as: ApiClient, comment?: string) =>
  as.post(`/v1/overrides/${overrideId}/approvals`, comment ? { comment } : {});
const auditActions = async (entityId: string) =>
  (
    await world.stack.pool.query('SELECT action, principal_id FROM audit_log WHERE entity_id = $1 ORDER BY audit_id', [
      entityId,
    ])
  ).rows;

describe('an override', () => {
  it('becomes overridden after two distinct approvers, naming who and why', async () => {
    const check = await failingCheck();
    const failing = check.reasons
      .filter((r: any) => r.verdict === 'fail')
      .map((r: any) => r.rule)
      .sort();
    expect(failing).toEqual(['accuracy[hard-ham]:max_regression', 'overall-tight']);
    const requested = await requestOverride(check.checkId);
    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({ status: 'requested', requiredApprovals: 2 });
    expect(requested.body.rules.sort()).toEqual(failing);
    const { overrideId } = requested.body;

    const first = await approve(overrideId, approverA, 'looked at the hard-ham examples');
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'requested', checkStatus: 'fail' });
    const second = await approve(overrideId, approverB);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ status: 'granted', checkStatus: 'overridden', expiresAt: expect.any(String) });
    expect(second.body.approvals.map((a: any) => a.counted)).toEqual([true, true]);

    const after = await waitForCheck(world.editor, check.checkId);
    expect(after.status).toBe('overridden');
    const reason = after.reasons.find((r: any) => r.code === 'override');
    expect(reason.justification).toEqual([expect.stringMatching(/holiday spam wave/)]);
    expect(reason.approvedBy.sort()).toEqual([
      expect.stringMatching(/^approver-a-/),
      expect.stringMatching(/^approver-b-/),
    ]);
    expect(reason.requestedBy).toEqual([expect.stringMatching(/^editor-/)]);
    expect(reason.message).toMatch(/requested by editor-.*approved by approver-/);
    expect(
      after.reasons
        .filter((r: any) => r.overridden)
        .map((r: any) => r.rule)
        .sort(),
    ).toEqual(failing);

    const { rows: decisions } = await world.stack.pool.query(
      'SELECT status, cause, decided_by FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id',
      [check.checkId],
    );
    expect(decisions).toEqual([
      { status: 'fail', cause: 'check', decided_by: null },
      { status: 'overridden', cause: 'override', decided_by: approverB.principalId },
    ]);
    expect((await auditActions(overrideId)).map((a) => a.action)).toEqual([
      'override.request',
      'override.approve',
      'override.approve',
      'override.grant',
    ]);
    expect((await auditActions(check.checkId)).map((a) => a.action)).toEqual([
      'gate_check.create',
      'gate_check.decide',
      'gate_check.override',
    ]);
  });

  it("refuses a self-approval, a viewer, another team's approver and a second approval by the same approver — each audited", async () => {
    const check = await failingCheck();
    const { overrideId } = (await requestOverride(check.checkId)).body;
    const self = await approve(overrideId, world.editor); // the requester holds the approver role too
    expect([self.status, self.body.error.code]).toEqual([403, 'self_approval']);
    const byViewer = await approve(overrideId, viewer);
    expect([byViewer.status, byViewer.body.error.code]).toEqual([403, 'forbidden']);
    const wrongTeam = await approve(overrideId, otherTeamApprover);
    expect([wrongTeam.status, wrongTeam.body.error.code]).toEqual([403, 'forbidden']);
    expect(wrongTeam.body.error.message).toMatch(new RegExp(`approver role on team ${world.team}`));
    expect((await approve(overrideId, stranger)).status).toBe(404);
    // admin does not imply approver (BRIEF: only approvers approve), on the team or platform-wide.
    const byTeamAdmin = await approve(overrideId, teamAdmin);
    expect([byTeamAdmin.status, byTeamAdmin.body.error.code]).toEqual([403, 'forbidden']);
    const byPlatformAdmin = await approve(overrideId, client(world.stack.baseUrl, world.stack.adminToken));
    expect([byPlatformAdmin.status, byPlatformAdmin.body.error.code]).toEqual([403, 'forbidden']);
    expect((await approve(overrideId, approverA)).status).toBe(202);
    const twice = await approve(overrideId, approverA);
    expect([twice.status, twice.body.error.code]).toEqual([409, 'already_approved']);

    const audit = await auditActions(overrideId);
    expect(audit.filter((a) => a.action === 'override.approval_refused').map((a) => a.principal_id)).toEqual([
      world.editor.principalId,
      viewer.principalId,
      otherTeamApprover.principalId,
      teamAdmin.principalId,
      adminId,
      approverA.principalId,
    ]);
    const override = await world.editor.get(`/v1/overrides/${overrideId}`);
    expect(override.body).toMatchObject({ status: 'requested', checkStatus: 'fail' });
    expect(override.body.approvals).toHaveLength(1);
  });

  it('refuses requests from a viewer, with no justification, or naming a rule that did not fail', async () => {
    const check = await failingCheck();
    expect((await requestOverride(check.checkId, {}, viewer)).status).toBe(403);
    const short = await requestOverride(check.checkId, { justification: 'ok' });
    expect([short.status, short.body.error.field]).toEqual([400, 'justification']);
    const wrongRule = await requestOverride(check.checkId, { rules: ['accuracy:max_regression'] });
    expect([wrongRule.status, wrongRule.body.error.field]).toEqual([400, 'rules[0]']);
  });

  it('never covers an error or a pass', async () => {
    const noBaseline = await spamModel(world, null);
    const errored = await runCheck(world.editor, gateId, noBaseline.v('nb-small-v1'));
    expect(errored.status).toBe('error');
    const res = await requestOverride(errored.checkId);
    expect([res.status, res.body.error.code]).toEqual([409, 'not_overridable']);
    const passed = await runCheck(world.editor, gateId, model.v('nb-v1'));
    expect(passed.status).toBe('pass');
    expect((await requestOverride(passed.checkId)).status).toBe(409);
  });

  it('scoped to some failing rules leaves the check failing until every failing rule is covered', async () => {
    const check = await failingCheck();
    const scoped = (await requestOverride(check.checkId, { rules: ['accuracy[hard-ham]:max_regression'] })).body
      .overrideId;
    await approve(scoped, approverA);
    expect((await approve(scoped, approverB)).body).toMatchObject({ status: 'granted', checkStatus: 'fail' });
    const rest = (await requestOverride(check.checkId, { rules: ['overall-tight'] })).body.overrideId;
    await approve(rest, approverB);
    expect((await approve(rest, approverA)).body).toMatchObject({ status: 'granted', checkStatus: 'overridden' });
    const after = await waitForCheck(world.editor, check.checkId);
    expect(after.reasons.find((r: any) => r.code === 'override').overrideIds.sort()).toEqual([scoped, rest].sort());
  });
});

describe('override expiry', () => {
  it('expires a request nobody approves in time', async () => {
    const check = await failingCheck();
    const { overrideId } = (await requestOverride(check.checkId)).body;
    await approve(overrideId, approverA);
    const deadline = Date.now() + 30_000;
    let override: any;
    do {
      await new Promise((r) => setTimeout(r, 500));
      override = (await world.editor.get(`/v1/overrides/${overrideId}`)).body;
    } while (override.status === 'requested' && Date.now() < deadline);
    expect(override).toMatchObject({
      status: 'expired',
      endedReason: 'not approved before the request expired',
      checkStatus: 'fail',
    });
    const late = await approve(overrideId, approverB);
    expect([late.status, late.body.error.code]).toEqual([409, 'override_not_open']);
    expect((await auditActions(overrideId)).map((a) => a.action)).toEqual([
      'override.request',
      'override.approve',
      'override.expire',
      'override.approval_refused',
    ]);
  });

  it('expires a granted override after its TTL: the check fails again', async () => {
    const check = await failingCheck(shortTtlGateId);
    const { overrideId } = (await requestOverride(check.checkId)).body;
    await approve(overrideId, approverA);
    const granted = await approve(overrideId, approverB);
    expect(granted.body).toMatchObject({ status: 'granted', checkStatus: 'overridden' });
    // 0.001 h = 3.6 s, kept to the whole second.
    expect(Date.parse(granted.body.expiresAt) - Date.parse(granted.body.grantedAt)).toBe(4000);
    const failedAgain = await waitForCheck(world.editor, check.checkId, 30_000, (b) => b.status !== 'overridden');
    expect(failedAgain.status).toBe('fail');
    expect(failedAgain.reasons.find((r: any) => r.code === 'override')).toMatchObject({ verdict: 'expired' });
    expect((await world.editor.get(`/v1/overrides/${overrideId}`)).body).toMatchObject({
      status: 'expired',
      endedReason: 'its TTL ended',
    });
    const { rows } = await world.stack.pool.query(
      'SELECT status, cause FROM gate_decisions WHERE check_id = $1 ORDER BY decision_id',
      [check.checkId],
    );
    expect(rows).toEqual([
      { status: 'fail', cause: 'check' },
      { status: 'overridden', cause: 'override' },
      { status: 'fail', cause: 'override_expired' },
    ]);
  });
});

it('counts overrides in /metrics', async () => {
  const metrics = await (
    await fetch(`${world.stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${world.stack.adminToken}` } })
  ).text();
  expect(metrics).toMatch(/evalgate_override_events_total\{event="requested"\} [1-9]/);
  expect(metrics).toMatch(/evalgate_override_events_total\{event="approved"\} [1-9]/);
  expect(metrics).toMatch(/evalgate_override_events_total\{event="refused"\} [1-9]/);
  expect(metrics).toMatch(/evalgate_overrides\{status="granted"\} [1-9]/);
  expect(metrics).toMatch(/evalgate_overrides\{status="expired"\} [1-9]/);
  expect(metrics).toMatch(/evalgate_gate_checks\{status="overridden"\} [1-9]/);
});
