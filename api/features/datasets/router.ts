import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../../common/errors';
import { recordName, TASK_TYPES, teamName } from '../../../common/rows';
import { principalOf } from '../../http/auth';
import { pageQuery } from '../../http/pagination';
import { send, validated } from '../../http/validate';
import { versionView, type DatasetService } from './service';

const deprecateBody = z.strictObject({
  reason: z.string().trim().min(1, 'say why, for the owners of the runs and gates it invalidates').max(4000),
});

const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/jsonl',
  'application/json-lines',
  'application/jsonlines',
  'text/plain',
  'application/octet-stream',
];

const datasetParams = z.object({ datasetId: z.uuid('must be a dataset id (uuid)') });
const versionParams = datasetParams.extend({
  version: z.coerce.number().int().positive('must be a positive version number'),
});
const createBody = z.strictObject({
  name: recordName,
  taskType: z.enum(TASK_TYPES),
  ownerTeam: teamName,
  description: z.string().max(4000).optional(),
});
const versionQuery = z.object({
  labelPolicy: z.enum(
    ['human_reviewed', 'synthetic', 'implicit', 'mixed'],
    'must be one of human_reviewed, synthetic, implicit, mixed',
  ),
  visibility: z.enum(['public', 'internal', 'restricted']).default('internal'),
  teams: z
    .string()
    .optional()
    .transform((s) =>
      s
        ? s
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean)
        : [],
    )
    .pipe(z.array(teamName).max(100)),
  classification: z.enum(['public', 'internal', 'confidential', 'restricted']).optional(),
});
const rowsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a cursor returned by a previous page')
    .optional()
    .transform((c) => (c ? Number(c) : 0)),
});

const versionSchema = z.object({
  datasetId: z.string(),
  version: z.number(),
  contentHash: z.string(),
  rowCount: z.number(),
  byteCount: z.number(),
  labelPolicy: z.string(),
  visibility: z.string(),
  teams: z.array(z.string()),
  classification: z.string(),
  tagCounts: z.record(z.string(), z.number()),
  status: z.string(),
  deprecatedReason: z.string().nullable(),
  createdAt: z.string(),
});
const datasetSchema = z.object({
  datasetId: z.string(),
  name: z.string(),
  taskType: z.string(),
  ownerTeam: z.string(),
  description: z.string().nullable(),
  createdAt: z.string(),
  versions: z.array(versionSchema),
});

const listQuery = z.object({
  ownerTeam: teamName.optional(),
  name: z.string().min(1).max(128).optional(),
  ...pageQuery,
});

export function datasetsRouter(datasets: DatasetService): Router {
  const router = Router();

  router.get(
    '/v1/datasets',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      principalOf(req);
      const page = await datasets.list(query);
      res.json({
        items: page.items.map((d) => ({
          datasetId: d.dataset_id,
          name: d.name,
          taskType: d.task_type,
          ownerTeam: d.owner_team,
          description: d.description,
          createdAt: d.created_at.toISOString(),
        })),
        nextCursor: page.nextCursor,
      });
    }),
  );

  router.post(
    '/v1/datasets',
    validated({ body: createBody }, async ({ body }, req, res) => {
      const { dataset, created } = await datasets.create(body, principalOf(req), req.requestId);
      send(res, created ? 201 : 200, z.object({ datasetId: z.string() }), { datasetId: dataset.dataset_id });
    }),
  );

  router.get(
    '/v1/datasets/:datasetId',
    validated({ params: datasetParams }, async ({ params }, req, res) => {
      const { dataset, versions } = await datasets.get(params.datasetId, principalOf(req));
      send(res, 200, datasetSchema, {
        datasetId: dataset.dataset_id,
        name: dataset.name,
        taskType: dataset.task_type,
        ownerTeam: dataset.owner_team,
        description: dataset.description,
        createdAt: dataset.created_at.toISOString(),
        versions: versions.map(versionView),
      });
    }),
  );

  router.post(
    '/v1/datasets/:datasetId/versions',
    validated({ params: datasetParams, query: versionQuery }, async ({ params, query }, req, res) => {
      const type = (req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!NDJSON_TYPES.includes(type)) {
        throw new AppError(
          415,
          'unsupported_media_type',
          'send rows as JSON lines with Content-Type: application/x-ndjson',
          'Content-Type',
        );
      }
      const classification = query.classification ?? query.visibility;
      const { version, created } = await datasets.addVersion(
        params.datasetId,
        { ...query, classification },
        req,
        principalOf(req),
        req.requestId,
      );
      send(res, created ? 201 : 200, versionSchema, versionView(version));
    }),
  );

  router.get(
    '/v1/datasets/:datasetId/versions/:version',
    validated({ params: versionParams }, async ({ params }, req, res) => {
      const { version } = await datasets.getVersion(params.datasetId, params.version, principalOf(req));
      send(res, 200, versionSchema, versionView(version));
    }),
  );

  router.get(
    '/v1/datasets/:datasetId/versions/:version/rows',
    validated({ params: versionParams, query: rowsQuery }, async ({ params, query }, req, res) => {
      const page = await datasets.rows(params.datasetId, params.version, principalOf(req), query.limit, query.cursor);
      res.status(200).json(page);
    }),
  );

  router.post(
    '/v1/datasets/:datasetId/versions/:version/deprecate',
    validated({ params: versionParams, body: deprecateBody }, async ({ params, body }, req, res) => {
      const { incident, created, version } = await datasets.deprecate(
        params.datasetId,
        params.version,
        body.reason,
        principalOf(req),
        req.requestId,
      );
      res.status(created ? 202 : 200).json({
        incidentId: incident.incident_id,
        workflowId: incident.workflow_id,
        incidentStatus: incident.status,
        version: versionView(version),
      });
    }),
  );

  router.post(
    '/v1/datasets/:datasetId/versions/:version/reinstate',
    validated({ params: versionParams, body: deprecateBody }, async ({ params, body }, req, res) => {
      const { incident, version } = await datasets.reinstate(
        params.datasetId,
        params.version,
        body.reason,
        principalOf(req),
        req.requestId,
      );
      res
        .status(201)
        .json({ incidentId: incident.incident_id, report: incident.report, version: versionView(version) });
    }),
  );

  return router;
}
