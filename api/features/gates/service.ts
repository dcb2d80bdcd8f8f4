import type { Pool } from 'pg';
import { ruleId, type GateRule } from '../../../domain/gates/evaluateRules';
import { gateCharacteristics, powerWarnings, type RuleData } from '../../../domain/gates/operatingCharacteristics';
import { recordAudit } from '../../../domain/audit/dal';
import { hashCanonical } from '../../../common/canonical';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, notFound } from '../../../common/errors';
import { requireRole } from '../../http/auth';
import { keysetCursor } from '../../http/pagination';
import type { Principal } from '../../http/context';
import * as datasetsDal from '../../../domain/datasets/dal';
import { datasetScopes, gateScopes, suiteShares } from '../../../domain/access/dal';
import { authorize, mayKnowAll, mayUseSuite, teamMayReadRows } from '../../../domain/access/policy';
import * as suitesDal from '../../../domain/suites/dal';
import { findMetric } from '../suites/metricCatalog';
import * as dal from '../../../domain/gates/dal';
import { overrideTtlSeconds } from '../../../domain/overrides/rules';
import type { GateBody } from './schemas';

const bad = (message: string, field: string) => new AppError(400, 'invalid_request', message, field);

/** Release-blocking gates need two distinct approvers by default (BRIEF: overrides). */
export const DEFAULT_REQUIRED_APPROVALS = 2;
export const DEFAULT_OVERRIDE_TTL_HOURS = 24;

export function gateVersionView(v: dal.GateVersionRecord) {
  return {
    version: v.version,
    metricSuiteId: v.metric_suite_id,
    metricSuiteVersion: v.metric_suite_version,
    datasetIds: v.dataset_ids,
    baselineAlias: v.baseline_alias,
    rules: v.rules.map((r) => ({ ...r, id: ruleId(r) })),
    requiredApprovals: v.required_approvals,
    overrideTtlHours: overrideTtlSeconds(v) / 3600,
    baselineRuns: v.baseline_runs,
    description: v.description,
    contentHash: v.content_hash,
    createdAt: v.created_at.toISOString(),
  };
}

export class GateService {
  constructor(private readonly pool: Pool) {}

  /**
   * Gates are versioned like the registry: a new name creates the gate; a different
   * definition under an existing name is its next version; the same definition as the
   * latest version answers that version (created: false).
   */
  async create(body: GateBody, principal: Principal, requestId: string) {
    requireRole(principal, body.ownerTeam, 'editor');
    const definition = await this.validate(body, principal);
    const stored = await this.store(definition, body, principal, requestId);
    // After the write: the warning informs, it never refuses a gate.
    const { warnings } = await this.characteristics(definition);
    return { ...stored, warnings };
  }

  /** POST /v1/gates/preview: the operating characteristics of a gate definition; nothing is stored. */
  async preview(body: GateBody, principal: Principal, discordance?: number) {
    requireRole(principal, body.ownerTeam, 'editor');
    return this.characteristics(await this.validate(body, principal), discordance);
  }

  /** GET /v1/gates/{gateId}/operating-characteristics, for the gate's latest version. */
  async operatingCharacteristics(gateId: string, principal: Principal, discordance?: number) {
    const { versions } = await this.get(gateId, principal);
    const latest = versions[versions.length - 1];
    return this.characteristics(
      {
        suiteId: latest.metric_suite_id,
        suiteVersion: latest.metric_suite_version,
        datasetIds: latest.dataset_ids,
        baselineAlias: latest.baseline_alias,
        rules: latest.rules,
      },
      discordance,
    );
  }

  /**
   * Per rule: P(pass), P(fail), P(inconclusive) at true deltas -2m..+m and the examples for
   * 80% power (domain/gates/operatingCharacteristics.ts), from each dataset's newest version's
   * size and the newest release run of the baseline alias on it (its recorded outcomes).
   */
  private async characteristics(
    definition: {
      suiteId: string;
      suiteVersion: number | null;
      datasetIds: string[];
      baselineAlias: string;
      rules: GateRule[];
    },
    discordance?: number,
  ) {
    const suite = await dal.latestSuiteVersion(this.pool, definition.suiteId, definition.suiteVersion);
    const outcomes = suite
      ? await dal.baselineOutcomes(
          this.pool,
          suite.metric_suite_version_id,
          definition.datasetIds,
          definition.baselineAlias,
        )
      : [];
    const byDataset = new Map(outcomes.map((o) => [o.dataset_id, o]));
    const data = definition.rules.map((rule): RuleData | undefined => {
      const dataset = byDataset.get(rule.datasetId ?? definition.datasetIds[0]);
      if (!dataset) return undefined;
      const result = dataset.results[rule.metric];
      const layer = rule.slice ? result?.slices?.[rule.slice] : result;
      const n = layer?.n ?? (rule.slice || dataset.row_count === null ? undefined : Number(dataset.row_count));
      return n === undefined ? undefined : { n: Number(n), baselineValue: layer?.value ?? null };
    });
    const rules = gateCharacteristics({
      rules: definition.rules,
      metricIds: Object.fromEntries((suite?.metrics ?? []).map((m) => [m.name, m.metric])),
      data,
      discordance,
    });
    return {
      rules,
      warnings: powerWarnings(definition.rules, rules),
      baselines: outcomes.map((o) => ({ datasetId: o.dataset_id, runId: o.run_id, modelVersion: o.model_version })),
    };
  }

  private async store(
    definition: Awaited<ReturnType<GateService['validate']>>,
    body: GateBody,
    principal: Principal,
    requestId: string,
  ) {
    const contentHash = hashCanonical(definition);
    return withTransaction(this.pool, async (tx) => {
      const inserted = await dal.insertGate(tx, {
        name: body.name,
        ownerTeam: body.ownerTeam,
        createdBy: principal.principalId,
      });
      const gate = inserted ?? (await dal.findGateByName(tx, body.name, true))!;
      if (gate.owner_team !== body.ownerTeam)
        throw conflict(
          'already_exists',
          `a gate named ${body.name} already exists (owned by team ${gate.owner_team})`,
          'name',
        );
      if (inserted)
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'gate.create',
          entityKind: 'gate',
          entityId: gate.gate_id,
          detail: { name: gate.name },
          requestId,
        });
      const latest = await dal.latestVersion(tx, gate.gate_id);
      if (latest?.content_hash === contentHash) return { gate, version: latest, created: false };
      const version = await dal.insertVersion(tx, {
        gateId: gate.gate_id,
        ...definition,
        contentHash,
        createdBy: principal.principalId,
      });
      await recordAudit(tx, {
        principalId: principal.principalId,
        action: 'gate_version.create',
        entityKind: 'gate_version',
        entityId: version.gate_version_id,
        detail: { gate: gate.name, version: version.version, contentHash, rules: definition.rules.map(ruleId) },
        requestId,
      });
      return { gate, version, created: true };
    });
  }

  /** Checks the rules against the suite's current metrics and the datasets; returns the definition to store. */
  private async validate(body: GateBody, principal: Principal) {
    const suite = await suitesDal.findSuite(this.pool, body.metricSuiteId);
    if (!suite)
      throw new AppError(404, 'not_found', `metric suite ${body.metricSuiteId} was not found`, 'metricSuiteId');
    if (suite.purpose !== 'release_blocking')
      throw bad(
        `metricSuiteId: suite ${suite.name} is ${suite.purpose}; only a release-blocking suite can gate a release`,
        'metricSuiteId',
      );
    if (suite.owner_team !== body.ownerTeam) {
      // Another team's suite: its owners could change this gate's decisions, so they must consent (a share).
      if (
        !mayUseSuite(body.ownerTeam, {
          ownerTeam: suite.owner_team,
          sharedWith: await suiteShares(this.pool, suite.metric_suite_id),
        })
      )
        throw new AppError(
          403,
          'forbidden',
          `suite ${suite.name} belongs to team ${suite.owner_team}, which has not shared it with team ${body.ownerTeam} ` +
            `(an editor of ${suite.owner_team}: PUT /v1/metric-suites/${suite.metric_suite_id}/shares/${body.ownerTeam})`,
          'metricSuiteId',
        );
    }
    const suiteVersion = await suitesDal.findVersion(this.pool, suite.metric_suite_id, body.metricSuiteVersion);
    if (!suiteVersion && body.metricSuiteVersion !== undefined)
      throw new AppError(
        404,
        'not_found',
        `suite ${suite.name} has no version ${body.metricSuiteVersion}`,
        'metricSuiteVersion',
      );
    if (!suiteVersion)
      throw conflict(
        'suite_has_no_versions',
        `suite ${suite.name} has no versions yet; publish one first`,
        'metricSuiteId',
      );
    const metrics = new Map(suiteVersion.metrics.map((m) => [m.name, m]));
    const taskTypes = new Set<string>();
    for (const m of suiteVersion.metrics) {
      const impl = findMetric(m.metric, m.implVersion);
      if (typeof impl !== 'string') for (const t of impl.taskTypes) taskTypes.add(t);
    }
    const checkDataset = async (id: string, field: string) => {
      const dataset = await datasetsDal.findDataset(this.pool, id);
      if (!dataset) throw new AppError(404, 'not_found', `dataset ${id} was not found`, field);
      await this.checkDatasetAccess(dataset, body.ownerTeam, principal, field);
      if (!taskTypes.has(dataset.task_type))
        throw bad(
          `${field}: dataset ${dataset.name} is ${dataset.task_type}; suite ${suite.name}'s metrics do not apply to it`,
          field,
        );
    };
    const datasetIds = [...new Set(body.datasetIds)];
    for (const [i, id] of datasetIds.entries()) await checkDataset(id, `datasetIds[${i}]`);
    const ids = new Set<string>();
    for (const [i, rule] of body.rules.entries()) {
      const at = `rules[${i}]`;
      const metric = metrics.get(rule.metric);
      if (!metric)
        throw bad(
          `${at}.metric: suite ${suite.name} v${suiteVersion.version} has no metric named ${rule.metric} ` +
            `(it has ${[...metrics.keys()].join(', ')})`,
          `${at}.metric`,
        );
      if (rule.slice && metric.slices?.length && !metric.slices.includes(rule.slice)) {
        throw bad(
          `${at}.slice: metric ${rule.metric} reports only the slices ${metric.slices.join(', ')}`,
          `${at}.slice`,
        );
      }
      if (rule.datasetId && rule.kind !== 'must_pass' && !datasetIds.includes(rule.datasetId)) {
        throw bad(`${at}.datasetId: a ${rule.kind} rule may only name one of the gate's datasetIds`, `${at}.datasetId`);
      }
      if (rule.kind === 'must_pass' && !datasetIds.includes(rule.datasetId!))
        await checkDataset(rule.datasetId!, `${at}.datasetId`);
      const id = ruleId(rule);
      if (ids.has(id)) throw bad(`${at}: rule ${id} appears twice; give one of them a name`, `${at}.name`);
      ids.add(id);
    }
    return {
      suiteId: suite.metric_suite_id,
      suiteVersion: suiteVersion.version,
      datasetIds,
      baselineAlias: body.baselineAlias,
      rules: body.rules,
      requiredApprovals: body.requiredApprovals ?? DEFAULT_REQUIRED_APPROVALS,
      overrideTtlSeconds: Math.max(1, Math.round((body.overrideTtlHours ?? DEFAULT_OVERRIDE_TTL_HOURS) * 3600)),
      baselineRuns: body.baselineRuns,
      description: body.description ?? null,
    };
  }

  /**
   * A gate's checks send every version's rows to candidate endpoints and show its results to
   * the gate's team: the caller must know every version exists (else 404, as for a missing
   * dataset) and the gate's team must be allowed to read each one's rows (else 403).
   */
  private async checkDatasetAccess(
    dataset: { dataset_id: string; name: string },
    team: string,
    principal: Principal,
    field: string,
  ) {
    const scopes = (await datasetScopes(this.pool, [dataset.dataset_id])).get(dataset.dataset_id) ?? [];
    if (!mayKnowAll(principal, scopes))
      throw new AppError(404, 'not_found', `dataset ${dataset.dataset_id} was not found`, field);
    if (!scopes.every((s) => teamMayReadRows(team, s)))
      throw new AppError(
        403,
        'forbidden',
        `team ${team} may not read every version of dataset ${dataset.name}; a gate of team ${team} cannot evaluate it`,
        field,
      );
  }

  /** A gate for principals who may see every dataset version it touches; 404 for anyone else. */
  async get(gateId: string, principal: Principal) {
    const gate = await dal.findGate(this.pool, gateId);
    if (!gate || !(await this.visibleGateIds([gate], principal)).has(gate.gate_id)) throw notFound(`gate ${gateId}`);
    return { gate, versions: await dal.listVersions(this.pool, gateId) };
  }

  private async visibleGateIds(gates: dal.GateRecord[], principal: Principal): Promise<Set<string>> {
    const scopes = await gateScopes(
      this.pool,
      gates.map((g) => g.gate_id),
    );
    const visible = gates.filter(
      (g) =>
        authorize(principal, 'read', {
          kind: 'gate',
          ownerTeam: g.owner_team,
          datasets: scopes.get(g.gate_id) ?? [],
        }) === 'allow',
    );
    return new Set(visible.map((g) => g.gate_id));
  }

  /** Gates the principal may see (a page may hold fewer than `limit`; the cursor still advances). */
  async list(query: { name?: string; limit: number; cursor?: string }, principal: Principal) {
    const page = await this.listAll(query);
    const visible = await this.visibleGateIds(page.items, principal);
    return { items: page.items.filter((g) => visible.has(g.gate_id)), nextCursor: page.nextCursor };
  }

  private async listAll(query: { name?: string; limit: number; cursor?: string }) {
    if (query.name) {
      const gate = await dal.findGateByName(this.pool, query.name);
      return { items: gate ? [gate] : [], nextCursor: null };
    }
    let after: { createdAt: string; gateId: string } | null = null;
    if (query.cursor) {
      const key = keysetCursor(Buffer.from(query.cursor, 'base64url').toString('utf8').split('|'));
      if (!key) throw bad('cursor: not a cursor this endpoint returned', 'cursor');
      after = { createdAt: key.createdAt, gateId: key.id };
    }
    const rows = await dal.listGates(this.pool, after, query.limit + 1);
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        rows.length > query.limit
          ? Buffer.from(`${last.created_at.toISOString()}|${last.gate_id}`).toString('base64url')
          : null,
    };
  }
}
