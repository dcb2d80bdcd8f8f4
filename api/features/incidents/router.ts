import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { judgeDef } from '../../../domain/suites/schemas';
import { send, validated } from '../../http/validate';
import type { IncidentCounts, IncidentKind, IncidentRow } from '../../../domain/incidents/dal/incidents';
import type { IncidentService } from './service';

const version = z.string().min(1).max(64);
const metricIncidentBody = z.strictObject({
  metric: z.string().min(1).max(64),
  badImplVersions: z.array(version).min(1, 'name at least one bad implementation version').max(50),
  fixedImplVersion: version,
  note: z.string().trim().min(1, 'say what is wrong, for the people whose gates freeze').max(4000),
  idempotencyKey: z.string().min(1).max(256).optional(),
});
const judgeIncidentBody = z.strictObject({
  judgeFingerprint: z
    .string()
    .regex(/^[0-9a-f]{8,64}$/, 'must be a judge fingerprint (hex), as runs and suite versions report it'),
  replacementJudge: judgeDef,
  note: z.string().trim().min(1, 'say what is wrong with the judge').max(4000),
  idempotencyKey: z.string().min(1).max(256).optional(),
});
const incidentParams = z.object({ incidentId: z.uuid('must be an incident id (uuid)') });
const listQuery = z.object({
  kind: z.enum(['metric_bug', 'dataset_contamination', 'judge', 'dataset_reinstatement']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** The replacement judge as declared, with its fingerprint (the stored record also holds resolved ids). */
function replacementView(stored: Record<string, unknown> | null) {
  const r = stored as { record?: Record<string, unknown>; fingerprint?: string } | null;
  if (!r?.record) return null;
  const { modelVersion, promptTemplate, output, params, repeats, pinned } = r.record;
  return { fingerprint: r.fingerprint, modelVersion, promptTemplate, output, params, repeats, pinned };
}

/** What clients see of an incident: its declaration, live progress while it works, and the report when done. */
export function incidentView(incident: IncidentRow, counts?: IncidentCounts) {
  const progress = incident.progress ?? {};
  return {
    incidentId: incident.incident_id,
    kind: incident.kind,
    status: incident.status,
    note: incident.note,
    ...(incident.metric
      ? {
          metric: incident.metric,
          badImplVersions: incident.bad_impl_versions ?? [],
          fixedImplVersion: incident.fixed_impl_version,
        }
      : {}),
    ...(incident.dataset_version_id ? { datasetVersionId: incident.dataset_version_id } : {}),
    ...(incident.judge_fingerprint
      ? { judgeFingerprint: incident.judge_fingerprint, replacementJudge: replacementView(incident.replacement_judge) }
      : {}),
    progress: {
      step: (progress.step as string | undefined) ?? (incident.status === 'open' ? 'queued' : incident.status),
      ...(counts
        ? {
            runsTotal: counts.runs_total,
            runsDone: counts.runs_done,
            runsRecomputed: counts.runs_recomputed,
            runsInvalidated: counts.runs_invalidated,
            runsUnrecoverable: counts.runs_unrecoverable,
            decisionsReevaluated: counts.decisions_reevaluated,
            decisionsRevoked: counts.decisions_revoked,
          }
        : {}),
      ...(progress.frozenGates ? { frozenGates: progress.frozenGates } : {}),
      ...(progress.runsInFlight ? { runsInFlight: progress.runsInFlight } : {}),
      ...(progress.error ? { error: progress.error } : {}),
    },
    report: incident.report,
    workflowId: incident.workflow_id,
    createdBy: incident.created_by,
    createdAt: incident.created_at.toISOString(),
    resolvedAt: incident.resolved_at?.toISOString() ?? null,
  };
}

export function incidentsRouter(incidents: IncidentService): Router {
  const router = Router();
  const created = z.object({ incidentId: z.string(), status: z.string(), workflowId: z.string() });

  router.post(
    '/v1/metric-incidents',
    validated({ body: metricIncidentBody }, async ({ body }, req, res) => {
      const { incident, created: isNew } = await incidents.createMetricIncident(body, principalOf(req), req.requestId);
      send(res, isNew ? 202 : 200, created, {
        incidentId: incident.incident_id,
        status: incident.status,
        workflowId: incident.workflow_id,
      });
    }),
  );

  router.post(
    '/v1/judge-incidents',
    validated({ body: judgeIncidentBody }, async ({ body }, req, res) => {
      const { incident, created: isNew } = await incidents.createJudgeIncident(body, principalOf(req), req.requestId);
      send(res, isNew ? 202 : 200, created, {
        incidentId: incident.incident_id,
        status: incident.status,
        workflowId: incident.workflow_id,
      });
    }),
  );

  const getOne = (kind?: IncidentKind) =>
    validated({ params: incidentParams }, async ({ params }, req, res) => {
      const { incident, counts } = await incidents.get(params.incidentId, principalOf(req), kind);
      res.json(incidentView(incident, counts));
    });
  router.get('/v1/metric-incidents/:incidentId', getOne('metric_bug'));
  router.get('/v1/judge-incidents/:incidentId', getOne('judge'));
  router.get('/v1/incidents/:incidentId', getOne());

  router.get(
    '/v1/incidents',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      const page = await incidents.list(principalOf(req), query.kind, query.limit, query.cursor);
      res.json({ items: page.items.map((i) => incidentView(i)), nextCursor: page.nextCursor });
    }),
  );

  return router;
}
