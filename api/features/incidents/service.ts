/**
 * Incidents: operators declare a metric bug or a bad judge (dataset contamination is
 * declared through the dataset's deprecate endpoint); each becomes a durable workflow
 * the API starts and reports on. The API never recomputes anything itself.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { recordAudit } from '../../../domain/audit/dal';
import type { Config } from '../../../common/config';
import { withTransaction } from '../../../common/db';
import { AppError, conflict, notFound } from '../../../common/errors';
import { judgeIncidentWorkflowId, metricRecomputeWorkflowId } from '../../../common/names';
import { isMetricId, metricVersions } from '../../../domain/metrics/registry';
import { hasRole, type Principal } from '../../http/context';
import { keysetCursor } from '../../http/pagination';
import { incidentScopes } from '../../../domain/access/dal';
import { authorize } from '../../../domain/access/policy';
import { resolveJudge } from '../suites/judge';
import type { JudgeDef } from '../../../domain/suites/schemas';
import * as dal from '../../../domain/incidents/dal/incidents';
import { ensureIncidentWorkflow } from './workflows';

export function requireOperator(principal: Principal): void {
  if (!hasRole(principal, '*', 'admin'))
    throw new AppError(403, 'forbidden', 'declaring an incident needs the admin role on every team (an operator key)');
}

export interface NewJudgeIncident {
  judgeFingerprint: string;
  replacementJudge: JudgeDef;
  note: string;
  idempotencyKey?: string;
}

/** The suite validator names fields `judge.*`; here the judge is `replacementJudge`. */
function asReplacementError(err: unknown): unknown {
  if (!(err instanceof AppError) || !err.field?.startsWith('judge')) return err;
  const rename = (text: string) => text.replace(/^judge(?=[.:]|$)/, 'replacementJudge');
  return new AppError(err.status, err.code, rename(err.message), rename(err.field));
}

export interface NewMetricIncident {
  metric: string;
  badImplVersions: string[];
  fixedImplVersion: string;
  note: string;
  idempotencyKey?: string;
}

export class IncidentService {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: Config,
  ) {}

  /** Declares a metric bug: validates the versions against the metrics library, records the incident and starts its recompute. */
  async createMetricIncident(
    input: NewMetricIncident,
    principal: Principal,
    requestId: string,
  ): Promise<{ incident: dal.IncidentRow; created: boolean }> {
    requireOperator(principal);
    if (input.idempotencyKey) {
      const existing = await dal.findByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey);
      if (existing) return { incident: existing, created: false };
    }
    if (!isMetricId(input.metric))
      throw new AppError(
        400,
        'invalid_request',
        `unknown metric id ${JSON.stringify(input.metric)}; see the metric ids in the API reference`,
        'metric',
      );
    const known = Object.keys(metricVersions[input.metric]);
    input.badImplVersions.forEach((v, i) => {
      if (!known.includes(v))
        throw new AppError(
          400,
          'invalid_request',
          `metric ${input.metric} has no implementation version ${v} (known: ${known.join(', ')})`,
          `badImplVersions[${i}]`,
        );
    });
    if (!known.includes(input.fixedImplVersion)) {
      throw new AppError(
        400,
        'invalid_request',
        `metric ${input.metric} has no implementation version ${input.fixedImplVersion} (known: ${known.join(', ')})`,
        'fixedImplVersion',
      );
    }
    if (input.badImplVersions.includes(input.fixedImplVersion)) {
      throw new AppError(
        400,
        'invalid_request',
        'fixedImplVersion must not be one of badImplVersions',
        'fixedImplVersion',
      );
    }
    const open = await dal.findOpenMetricIncident(this.pool, input.metric, input.badImplVersions);
    if (open) {
      await ensureIncidentWorkflow(this.temporal, this.config, open);
      throw conflict(
        'incident_open',
        `incident ${open.incident_id} is already handling ${input.metric}@${open.bad_impl_versions?.join(',')}; ` +
          `watch it with GET /v1/metric-incidents/${open.incident_id}`,
        'metric',
      );
    }
    const incidentId = randomUUID();
    const badImplVersions = [...new Set(input.badImplVersions)].sort();
    const incident = await withTransaction(this.pool, async (tx) => {
      const inserted = await dal.insertIncident(tx, {
        incidentId,
        kind: 'metric_bug',
        metric: input.metric,
        badImplVersions,
        fixedImplVersion: input.fixedImplVersion,
        note: input.note,
        workflowId: metricRecomputeWorkflowId(incidentId),
        idempotencyKey: input.idempotencyKey,
        createdBy: principal.principalId,
      });
      if (inserted) {
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'metric_incident.create',
          entityKind: 'metric_incident',
          entityId: incidentId,
          detail: { ...input, badImplVersions },
          requestId,
        });
      }
      return inserted;
    });
    // A concurrent request with the same key won the insert: answer its incident.
    const record =
      incident ?? (await dal.findByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey!))!;
    await ensureIncidentWorkflow(this.temporal, this.config, record);
    return { incident: record, created: Boolean(incident) };
  }

  /**
   * Declares a judge wrong: the replacement (a judge definition like a suite's, pinned, as
   * for a release-blocking suite) is validated and fingerprinted now; the workflow re-judges
   * the release runs the bad judge scored.
   */
  async createJudgeIncident(
    input: NewJudgeIncident,
    principal: Principal,
    requestId: string,
  ): Promise<{ incident: dal.IncidentRow; created: boolean }> {
    requireOperator(principal);
    if (input.idempotencyKey) {
      const existing = await dal.findByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey);
      if (existing) return { incident: existing, created: false };
    }
    if (!(await dal.judgeInUse(this.pool, input.judgeFingerprint)))
      throw new AppError(
        404,
        'not_found',
        `no metric suite version uses judge ${input.judgeFingerprint}`,
        'judgeFingerprint',
      );
    let resolved: Awaited<ReturnType<typeof resolveJudge>>;
    try {
      resolved = await resolveJudge(this.pool, input.replacementJudge, {
        purpose: 'release_blocking',
        taskTypes: ['generation'],
        principal,
      });
    } catch (err) {
      throw asReplacementError(err);
    }
    if (resolved.fingerprint === input.judgeFingerprint) {
      throw new AppError(
        400,
        'invalid_request',
        'replacementJudge is the same judge (same fingerprint); change the model version, prompt or params',
        'replacementJudge',
      );
    }
    const open = await dal.findOpenJudgeIncident(this.pool, input.judgeFingerprint);
    if (open) {
      await ensureIncidentWorkflow(this.temporal, this.config, open);
      throw conflict(
        'incident_open',
        `incident ${open.incident_id} is already replacing judge ${input.judgeFingerprint}; ` +
          `watch it with GET /v1/judge-incidents/${open.incident_id}`,
        'judgeFingerprint',
      );
    }
    const incidentId = randomUUID();
    const incident = await withTransaction(this.pool, async (tx) => {
      const inserted = await dal.insertIncident(tx, {
        incidentId,
        kind: 'judge',
        judgeFingerprint: input.judgeFingerprint,
        replacementJudge: resolved,
        note: input.note,
        workflowId: judgeIncidentWorkflowId(incidentId),
        idempotencyKey: input.idempotencyKey,
        createdBy: principal.principalId,
      });
      if (inserted) {
        await recordAudit(tx, {
          principalId: principal.principalId,
          action: 'judge_incident.create',
          entityKind: 'judge_incident',
          entityId: incidentId,
          detail: {
            judgeFingerprint: input.judgeFingerprint,
            replacementFingerprint: resolved.fingerprint,
            note: input.note,
          },
          requestId,
        });
      }
      return inserted;
    });
    const record =
      incident ?? (await dal.findByIdempotencyKey(this.pool, principal.principalId, input.idempotencyKey!))!;
    await ensureIncidentWorkflow(this.temporal, this.config, record);
    return { incident: record, created: Boolean(incident) };
  }

  /**
   * An incident with live counts, for principals who may see every dataset version it touches
   * (its own and its affected runs'); to anyone else it does not exist (404).
   */
  async get(incidentId: string, principal: Principal, kind?: dal.IncidentKind) {
    const incident = await dal.findIncident(this.pool, incidentId);
    if (!incident || (kind && incident.kind !== kind)) throw notFound(`incident ${incidentId}`);
    const scopes = (await incidentScopes(this.pool, [incidentId])).get(incidentId) ?? [];
    if (authorize(principal, 'read', { kind: 'incident', datasets: scopes }) !== 'allow')
      throw notFound(`incident ${incidentId}`);
    const counts = await dal.incidentCounts(this.pool, incidentId);
    return { incident, counts };
  }

  /** Incidents the principal may see, newest first (a page may hold fewer than `limit` then; the cursor still advances). */
  async list(principal: Principal, kind: dal.IncidentKind | undefined, limit: number, cursor?: string) {
    const decoded = cursor ? decodeCursor(cursor) : undefined;
    const rows = await dal.listIncidents(this.pool, kind, limit + 1, decoded);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const scopes = await incidentScopes(
      this.pool,
      page.map((i) => i.incident_id),
    );
    const items = page.filter(
      (i) => authorize(principal, 'read', { kind: 'incident', datasets: scopes.get(i.incident_id) ?? [] }) === 'allow',
    );
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }
}

const encodeCursor = (row: dal.IncidentRow) =>
  Buffer.from(JSON.stringify([row.created_at.toISOString(), row.incident_id])).toString('base64url');

function decodeCursor(cursor: string): { createdAt: string; incidentId: string } {
  let key: ReturnType<typeof keysetCursor> = null;
  try {
    key = keysetCursor(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    // not JSON: refused below
  }
  if (!key)
    throw new AppError(400, 'invalid_request', 'cursor must be a nextCursor returned by a previous page', 'cursor');
  return { createdAt: key.createdAt, incidentId: key.id };
}
