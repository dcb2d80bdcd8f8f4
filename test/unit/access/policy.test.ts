/**
 * The access model as a table (docs/security.md, "Access model"): principal × action × resource →
 * allow, deny (403) or hidden (404), and the egress rule for endpoints.
 */
import {
  authorize,
  hasRole,
  mayUseSuite,
  teamMayReadRows,
  unauthorizedEndpoint,
  versionAccess,
  type Action,
  type DatasetScope,
  type Decision,
  type Resource,
  type Role,
  type Subject,
} from '../../../domain/access/policy';

const who = (...grants: [string, Role][]): Subject => {
  const roles = new Map<string, Set<Role>>();
  for (const [team, role] of grants) roles.set(team, new Set([...(roles.get(team) ?? []), role]));
  return { roles };
};

const principals = {
  viewerA: who(['a', 'viewer']),
  editorA: who(['a', 'editor']),
  approverA: who(['a', 'approver']),
  adminA: who(['a', 'admin']),
  editorB: who(['b', 'editor']),
  editorC: who(['c', 'editor']),
  platformAdmin: who(['*', 'admin']),
};

const open: DatasetScope = { ownerTeam: 'a', visibility: 'internal', allowedTeams: [] };
const secret: DatasetScope = { ownerTeam: 'a', visibility: 'restricted', allowedTeams: ['c'] };

const resources = {
  openRun: { kind: 'run', modelTeam: 'a', suiteTeam: 'a', dataset: open },
  secretRun: { kind: 'run', modelTeam: 'c', suiteTeam: 'c', dataset: secret },
  secretVersion: { kind: 'dataset_version', dataset: secret },
  openGate: { kind: 'gate', ownerTeam: 'a', datasets: [open] },
  secretGate: { kind: 'gate', ownerTeam: 'c', datasets: [open, secret] },
  checkOfB: { kind: 'gate_check', gateTeam: 'a', candidateTeam: 'b', datasets: [open] },
  secretCheck: { kind: 'gate_check', gateTeam: 'c', candidateTeam: 'c', datasets: [secret] },
  secretIncident: { kind: 'incident', datasets: [open, secret] },
  modelA: { kind: 'model', ownerTeam: 'a' },
} satisfies Record<string, Resource>;

type Row = [keyof typeof principals, Action, keyof typeof resources, Decision];
const table: Row[] = [
  // runs: visible with their dataset version; cancelled by editors of their teams or admins
  ['viewerA', 'read', 'openRun', 'allow'],
  ['viewerA', 'cancel', 'openRun', 'deny'],
  ['editorA', 'cancel', 'openRun', 'allow'],
  ['adminA', 'cancel', 'openRun', 'allow'],
  ['editorB', 'cancel', 'openRun', 'deny'],
  ['platformAdmin', 'cancel', 'openRun', 'allow'],
  ['editorB', 'read', 'secretRun', 'hidden'],
  ['editorB', 'cancel', 'secretRun', 'hidden'],
  ['editorC', 'cancel', 'secretRun', 'allow'],
  ['viewerA', 'read', 'secretRun', 'allow'], // the owning team sees aggregates
  ['viewerA', 'read_rows', 'secretRun', 'deny'],
  ['editorC', 'read_rows', 'secretRun', 'allow'],
  // restricted versions: 404 for outsiders, 403 on rows for the owning team
  ['editorB', 'read', 'secretVersion', 'hidden'],
  ['editorA', 'read_rows', 'secretVersion', 'deny'],
  ['platformAdmin', 'read_rows', 'secretVersion', 'allow'],
  // gates: visible when every dataset is
  ['editorB', 'read', 'openGate', 'allow'],
  ['editorB', 'edit', 'openGate', 'deny'],
  ['editorA', 'edit', 'openGate', 'allow'],
  ['editorB', 'read', 'secretGate', 'hidden'],
  ['editorA', 'read', 'secretGate', 'allow'],
  // checks: members of the gate's or candidate's team; approvals by the gate team's approvers only
  ['editorB', 'read', 'checkOfB', 'allow'],
  ['editorC', 'read', 'checkOfB', 'hidden'],
  ['editorB', 'start_check', 'checkOfB', 'allow'],
  ['viewerA', 'start_check', 'checkOfB', 'deny'],
  ['viewerA', 'request_override', 'checkOfB', 'deny'],
  ['approverA', 'approve', 'checkOfB', 'allow'],
  ['adminA', 'approve', 'checkOfB', 'deny'],
  ['platformAdmin', 'approve', 'checkOfB', 'deny'],
  ['editorB', 'approve', 'checkOfB', 'deny'],
  ['editorB', 'read', 'secretCheck', 'hidden'],
  // incidents: visible when every dataset they touch is
  ['editorB', 'read', 'secretIncident', 'hidden'],
  ['viewerA', 'read', 'secretIncident', 'allow'],
  // model definitions: the model's team and admins
  ['viewerA', 'read_definition', 'modelA', 'allow'],
  ['editorB', 'read_definition', 'modelA', 'deny'],
  ['platformAdmin', 'read_definition', 'modelA', 'allow'],
  ['editorB', 'read', 'modelA', 'allow'],
];

describe('authorize', () => {
  it.each(table)('%s may %s %s: %s', (principal, action, resource, decision) => {
    expect(authorize(principals[principal], action, resources[resource])).toBe(decision);
  });
});

describe('roles', () => {
  it('admin implies editor and viewer but not approver', () => {
    expect(['viewer', 'editor', 'approver', 'admin'].map((r) => hasRole(principals.adminA, 'a', r as Role))).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect(hasRole(principals.platformAdmin, 'z', 'editor')).toBe(true);
    expect(hasRole(principals.platformAdmin, 'z', 'approver')).toBe(false);
  });
});

describe('the egress rule', () => {
  it('sends rows only to endpoints whose team may read them', () => {
    expect(teamMayReadRows('b', open)).toBe(true);
    expect(teamMayReadRows('a', secret)).toBe(false); // the owner is not an allowed team here
    expect(teamMayReadRows('c', secret)).toBe(true);
    expect(unauthorizedEndpoint({ modelTeam: 'c', judgeTeam: 'c' }, secret)).toBeNull();
    expect(unauthorizedEndpoint({ modelTeam: 'b' }, secret)).toBe('model');
    expect(unauthorizedEndpoint({ modelTeam: 'c', judgeTeam: 'a' }, secret)).toBe('judge');
  });

  it('gives the owning team metadata, allowed teams rows, and others nothing', () => {
    expect(versionAccess(principals.viewerA, secret)).toBe('metadata');
    expect(versionAccess(principals.editorC, secret)).toBe('rows');
    expect(versionAccess(principals.editorB, secret)).toBe('none');
  });

  it("uses another team's suite only through a share", () => {
    expect(mayUseSuite('a', { ownerTeam: 'a', sharedWith: [] })).toBe(true);
    expect(mayUseSuite('b', { ownerTeam: 'a', sharedWith: [] })).toBe(false);
    expect(mayUseSuite('b', { ownerTeam: 'a', sharedWith: ['b'] })).toBe(true);
  });
});
