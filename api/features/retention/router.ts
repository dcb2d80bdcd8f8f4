import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { send, validated } from '../../http/validate';
import type { RetentionService } from './service';

const versionParams = z.object({
  datasetId: z.uuid('must be a dataset id (uuid)'),
  version: z.coerce.number().int().positive('must be a positive version number'),
});
const holdBody = z.strictObject({
  reason: z.string().trim().min(1, 'say why the data must be kept (a matter, a ticket)').max(4000),
});
const holdParams = z.object({ holdId: z.uuid('must be a hold id (uuid)') });

const placedView = z.object({
  holdId: z.string(),
  datasetId: z.string(),
  version: z.number(),
  reason: z.string(),
  placedAt: z.string(),
});
const releasedView = z.object({ holdId: z.string(), releasedAt: z.string() });

/** Legal holds: while one is active, no retention sweep deletes the version's runs' outputs or cache entries. */
export function retentionRouter(retention: RetentionService): Router {
  const router = Router();

  router.post(
    '/v1/datasets/:datasetId/versions/:version/holds',
    validated({ params: versionParams, body: holdBody }, async ({ params, body }, req, res) => {
      const hold = await retention.placeHold(
        params.datasetId,
        params.version,
        body.reason,
        principalOf(req),
        req.requestId,
      );
      send(res, 201, placedView, {
        holdId: hold.hold_id,
        datasetId: params.datasetId,
        version: params.version,
        reason: hold.reason,
        placedAt: hold.placed_at.toISOString(),
      });
    }),
  );

  router.delete(
    '/v1/holds/:holdId',
    validated({ params: holdParams }, async ({ params }, req, res) => {
      const hold = await retention.releaseHold(params.holdId, principalOf(req), req.requestId);
      send(res, 200, releasedView, { holdId: hold.hold_id, releasedAt: hold.released_at!.toISOString() });
    }),
  );

  return router;
}
