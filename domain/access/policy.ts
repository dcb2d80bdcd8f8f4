/**
 * The access model as code (BRIEF "Who may send which rows where"; docs/security.md "Access model").
 *
 * Every route, gate check, incident re-judge, judge canary and shard activity asks these
 * functions; nothing else decides who may see, change or send what. The functions are pure:
 * callers load the facts (teams, visibility, allowed teams) and ask. A decision is `allow`,
 * `deny` (the caller may know the thing exists: 403) or `hidden` (the caller may not know it
 * exists: 404, exactly like a missing record).
 */
import type { Role } from '../principals/roles';

export type { Role };
export type Decision = 'allow' | 'deny' | 'hidden';

/** Who is asking: roles per team; team '*' applies to every team. api/http/context.ts's Principal is one. */
export interface Subject {
  roles: ReadonlyMap<string, ReadonlySet<Role>>;
}

/** What decides who may see a dataset version and its rows. */
export interface DatasetScope {
  ownerTeam: string;
  visibility: 'public' | 'internal' | 'restricted';
  allowedTeams: readonly string[];
}

/**
 * Roles imply others: admin implies editor and viewer; editor and approver imply viewer.
 * admin does NOT imply approver (BRIEF: only approvers approve overrides).
 */
export function hasRole(subject: Subject, team: string, role: Role): boolean {
  for (const key of [team, '*']) {
    const roles = subject.roles.get(key);
    if (!roles) continue;
    if (roles.has(role)) return true;
    if (role !== 'approver' && roles.has('admin')) return true;
    if (role === 'viewer' && (roles.has('editor') || roles.has('approver'))) return true;
  }
  return false;
}

export const isMember = (subject: Subject, team: string): boolean => subject.roles.has(team) || subject.roles.has('*');
export const isPlatformAdmin = (subject: Subject): boolean => subject.roles.get('*')?.has('admin') ?? false;

export type VersionAccess = 'rows' | 'metadata' | 'none';

/**
 * Public and internal versions are readable by every principal. A restricted version's rows
 * are readable by members of its allowed teams (and platform admins); the owning team sees
 * that it exists and its aggregates; anyone else does not learn it exists.
 */
export function versionAccess(subject: Subject, scope: DatasetScope): VersionAccess {
  if (scope.visibility !== 'restricted' || isPlatformAdmin(subject)) return 'rows';
  if (scope.allowedTeams.some((team) => isMember(subject, team))) return 'rows';
  return isMember(subject, scope.ownerTeam) ? 'metadata' : 'none';
}

/** May the subject know that every one of these dataset versions exists? */
export const mayKnowAll = (subject: Subject, scopes: readonly DatasetScope[]): boolean =>
  scopes.every((s) => versionAccess(subject, s) !== 'none');

/**
 * The egress rule: a team's endpoint (a model or a judge it owns) may receive a version's rows
 * only when the team may read them. Roles of principals play no part: the endpoint belongs to the team.
 */
export const teamMayReadRows = (team: string, scope: DatasetScope): boolean =>
  scope.visibility !== 'restricted' || scope.allowedTeams.includes(team);

/** The teams whose endpoints a run sends rows to: the model's owner, and the judge model's owner when the suite judges. */
export interface RunEndpoints {
  modelTeam: string;
  judgeTeam?: string | null;
}

/** The first endpoint team that may not receive the rows, or null when every endpoint may. */
export function unauthorizedEndpoint(endpoints: RunEndpoints, scope: DatasetScope): 'model' | 'judge' | null {
  if (!teamMayReadRows(endpoints.modelTeam, scope)) return 'model';
  if (endpoints.judgeTeam && !teamMayReadRows(endpoints.judgeTeam, scope)) return 'judge';
  return null;
}

/** The resources the table below decides on. */
export type Resource =
  | { kind: 'dataset_version'; dataset: DatasetScope }
  | { kind: 'run'; modelTeam: string; suiteTeam: string; dataset: DatasetScope }
  | { kind: 'gate'; ownerTeam: string; datasets: readonly DatasetScope[] }
  | { kind: 'gate_check'; gateTeam: string; candidateTeam: string; datasets: readonly DatasetScope[] }
  | { kind: 'incident'; datasets: readonly DatasetScope[] }
  | { kind: 'model'; ownerTeam: string }
  | { kind: 'suite'; ownerTeam: string };

export type Action =
  | 'read' // the record and its aggregates
  | 'read_rows' // examples, predictions, transcripts
  | 'read_definition' // a model's endpoint, prompt template, params and pricing
  | 'edit' // new versions, aliases, shares
  | 'cancel' // a run
  | 'start_check' // a gate check
  | 'request_override'
  | 'approve';

/** May the subject know the resource exists? Everything else first asks this. */
function visible(subject: Subject, resource: Resource): boolean {
  switch (resource.kind) {
    case 'dataset_version':
    case 'run':
      return versionAccess(subject, resource.dataset) !== 'none';
    case 'gate':
    case 'incident':
      return mayKnowAll(subject, resource.datasets);
    case 'gate_check':
      return (
        (isMember(subject, resource.gateTeam) || isMember(subject, resource.candidateTeam)) &&
        mayKnowAll(subject, resource.datasets)
      );
    case 'model':
    case 'suite':
      return true;
  }
}

const when = (ok: boolean): Decision => (ok ? 'allow' : 'deny');

/** The whole table: principal × action × resource → allow, deny (403) or hidden (404). */
export function authorize(subject: Subject, action: Action, resource: Resource): Decision {
  if (!visible(subject, resource)) return 'hidden';
  switch (action) {
    case 'read':
      return 'allow';
    case 'read_rows':
      if (resource.kind === 'dataset_version' || resource.kind === 'run')
        return when(versionAccess(subject, resource.dataset) === 'rows');
      if (resource.kind === 'gate' || resource.kind === 'gate_check' || resource.kind === 'incident')
        return when(resource.datasets.every((d) => versionAccess(subject, d) === 'rows'));
      return 'deny';
    case 'read_definition':
      if (resource.kind === 'model') return when(hasRole(subject, resource.ownerTeam, 'viewer'));
      return 'allow';
    case 'edit':
      if (resource.kind === 'model' || resource.kind === 'suite' || resource.kind === 'gate')
        return when(hasRole(subject, resource.ownerTeam, 'editor'));
      if (resource.kind === 'dataset_version') return when(hasRole(subject, resource.dataset.ownerTeam, 'editor'));
      return 'deny';
    case 'cancel':
      if (resource.kind !== 'run') return 'deny';
      return when(hasRole(subject, resource.modelTeam, 'editor') || hasRole(subject, resource.suiteTeam, 'editor'));
    case 'start_check':
    case 'request_override':
      if (resource.kind !== 'gate_check') return 'deny';
      return when(hasRole(subject, resource.gateTeam, 'editor') || hasRole(subject, resource.candidateTeam, 'editor'));
    case 'approve':
      if (resource.kind !== 'gate_check') return 'deny';
      return when(hasRole(subject, resource.gateTeam, 'approver'));
  }
}

/** A suite another team owns may back a gate only through a share to the gate's team. */
export const mayUseSuite = (gateTeam: string, suite: { ownerTeam: string; sharedWith: readonly string[] }): boolean =>
  suite.ownerTeam === gateTeam || suite.sharedWith.includes(gateTeam);
