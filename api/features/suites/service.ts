import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import { ensureTeams } from '../../../domain/principals/dal';
import { hashCanonical } from '../../../common/canonical';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, notFound } from '../../../common/errors';
import type { TaskType } from '../../../common/rows';
import { resolveJudge } from './judge';
import { findMetric } from './metricCatalog';
import { requireRole } from '../../http/auth';
import type { Principal } from '../../http/context';
import { zodToAppError } from '../../http/validate';
import { pageOf } from '../../http/pagination';
import * as dal from '../../../domain/suites/dal';
import * as accessDal from '../../../domain/access/dal';
import type { MetricDef, SuiteVersionBody } from '../../../domain/suites/schemas';

const bad = (message: string, field: string) => new AppError(400, 'invalid_request', message, field);

/**
 * Resolves each metric definition against the metric registry: known id, params valid for
 * the implementation, implementation version pinned (latest unless named). All metrics of
 * one suite must share a task type.
 */
export function resolveMetrics(
  defs: SuiteVersionBody['metrics'],
  hasJudge: boolean,
): { metrics: MetricDef[]; taskTypes: TaskType[] } {
  const names = new Set<string>();
  let taskTypes: TaskType[] | null = null;
  const metrics = defs.map((def, i) => {
    const at = `metrics[${i}]`;
    if (names.has(def.name)) throw bad(`${at}.name: metric name ${def.name} is used twice in this suite`, `${at}.name`);
    names.add(def.name);
    const found = findMetric(def.metric, def.implVersion);
    if (found === 'unknown_metric')
      throw bad(
        `${at}.metric: unknown metric id ${JSON.stringify(def.metric)}; see the metric ids in the API reference`,
        `${at}.metric`,
      );
    if (found === 'unknown_version')
      throw bad(
        `${at}.implVersion: metric ${def.metric} has no implementation version ${def.implVersion}`,
        `${at}.implVersion`,
      );
    const params = found.params.safeParse(def.params ?? {});
    if (!params.success) throw zodToAppError(params.error, `${at}.params`);
    if (def.metric === 'judge_score' && !hasJudge)
      throw bad(`${at}.metric: judge_score needs the suite to configure a judge`, `${at}.metric`);
    const fits = taskTypes === null ? [...found.taskTypes] : taskTypes.filter((t) => found.taskTypes.includes(t));
    if (!fits.length)
      throw bad(
        `${at}.metric: ${def.metric} does not fit the task type of the suite's other metrics (${taskTypes!.join(', ')})`,
        `${at}.metric`,
      );
    taskTypes = fits;
    return {
      name: def.name,
      metric: def.metric,
      params: (def.params ?? {}) as Record<string, unknown>,
      slices: def.slices,
      implVersion: found.version,
    };
  });
  return { metrics, taskTypes: taskTypes ?? [] };
}

export class SuiteService {
  constructor(private readonly pool: Pool) {}

  /** Metric suites in creation order, optionally of one team and with one name (how `evalgate plan` finds entries). */
  async list(query: { ownerTeam?: string; name?: string; limit: number; cursor?: string }) {
    const rows = await dal.listSuites(this.pool, query, query.cursor ?? null, query.limit + 1);
    return pageOf(rows, query.limit, (r) => r.metric_suite_id);
  }

  async create(
    input: { name: string; purpose: 'exploratory' | 'release_blocking'; ownerTeam: string },
    principal: Principal,
    requestId: string,
  ) {
    requireRole(principal, input.ownerTeam, 'editor');
    return withTransaction(this.pool, async (tx) => {
      await ensureTeams(tx, [input.ownerTeam]); // a team exists once anything names it
      const inserted = await dal.insertSuite(tx, { ...input, createdBy: principal.principalId });
      if (inserted) {
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'metric_suite.create',
          entityKind: 'metric_suite',
          entityId: inserted.metric_suite_id,
          detail: input,
          requestId,
        });
        return { suite: inserted, created: true };
      }
      const existing = (await dal.findSuiteByName(tx, input.ownerTeam, input.name))!;
      if (existing.purpose !== input.purpose)
        throw conflict(
          'already_exists',
          `team ${input.ownerTeam} already has a suite named ${input.name} with purpose ${existing.purpose}`,
          'name',
        );
      return { suite: existing, created: false };
    });
  }

  async get(suiteId: string) {
    const suite = await dal.findSuite(this.pool, suiteId);
    if (!suite) throw notFound(`metric suite ${suiteId}`);
    const [versions, sharedWith] = await Promise.all([
      dal.listVersions(this.pool, suiteId),
      accessDal.suiteShares(this.pool, suiteId),
    ]);
    return { suite, versions, sharedWith };
  }

  /**
   * Shares the suite with a team (an editor of the suite's team consents): that team's gates may
   * then use the suite, each pinned to a version. `created` is false when it was shared already.
   */
  async share(suiteId: string, team: string, principal: Principal, requestId: string) {
    const suite = await dal.findSuite(this.pool, suiteId);
    if (!suite) throw notFound(`metric suite ${suiteId}`);
    requireRole(principal, suite.owner_team, 'editor');
    return withTransaction(this.pool, async (tx) => {
      await ensureTeams(tx, [team]);
      const created = await accessDal.insertSuiteShare(tx, suiteId, team, principal.principalId);
      if (created)
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'metric_suite.share',
          entityKind: 'metric_suite',
          entityId: suiteId,
          detail: { team },
          requestId,
        });
      return { created };
    });
  }

  /** Withdraws a share: gate versions already pinned keep their decisions; new gate versions of that team are refused. */
  async unshare(suiteId: string, team: string, principal: Principal, requestId: string) {
    const suite = await dal.findSuite(this.pool, suiteId);
    if (!suite) throw notFound(`metric suite ${suiteId}`);
    requireRole(principal, suite.owner_team, 'editor');
    await withTransaction(this.pool, async (tx) => {
      if (!(await accessDal.deleteSuiteShare(tx, suiteId, team)))
        throw notFound(`share of suite ${suiteId} with ${team}`);
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'metric_suite.unshare',
        entityKind: 'metric_suite',
        entityId: suiteId,
        detail: { team },
        requestId,
      });
    });
  }

  /** A new immutable version; identical content to the latest version answers that version (200). */
  async addVersion(suiteId: string, body: SuiteVersionBody, principal: Principal, requestId: string) {
    const suite = await dal.findSuite(this.pool, suiteId);
    if (!suite) throw notFound(`metric suite ${suiteId}`);
    requireRole(principal, suite.owner_team, 'editor');
    const { metrics, taskTypes } = resolveMetrics(body.metrics, body.judge !== undefined);
    const judge = body.judge
      ? await resolveJudge(this.pool, body.judge, { purpose: suite.purpose, taskTypes, principal })
      : null;
    const definition = {
      metrics,
      judge: judge?.record ?? null,
      budget: body.budget ?? null,
      requireHumanLabels: body.requireHumanLabels,
    };
    const contentHash = hashCanonical(definition);
    return withTransaction(this.pool, async (tx) => {
      await dal.findSuite(tx, suiteId, true); // serialises version numbering per suite
      const latest = await dal.findVersion(tx, suiteId);
      if (latest && latest.content_hash === contentHash) return { suite, version: latest, created: false };
      const version = await dal.insertVersion(tx, {
        suiteId,
        metrics,
        judge: judge?.record ?? null,
        judgeFingerprint: judge?.fingerprint ?? null,
        maxCostUsd: body.budget?.maxCostUsd ?? null,
        maxCalls: body.budget?.maxCalls ?? null,
        requireHumanLabels: body.requireHumanLabels,
        contentHash,
        createdBy: principal.principalId,
      });
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'metric_suite_version.create',
        entityKind: 'metric_suite_version',
        entityId: version.metric_suite_version_id,
        detail: { suiteId, version: version.version, contentHash },
        requestId,
      });
      return { suite, version, created: true };
    });
  }
}
