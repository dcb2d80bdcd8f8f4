import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { validated } from '../../http/validate';
import { LINEAGE_KINDS, type LineageService } from './service';

const params = z.object({
  kind: z.enum(LINEAGE_KINDS, `must be one of ${LINEAGE_KINDS.join(', ')}`),
  id: z.string().min(1).max(300),
});
const query = z.object({
  direction: z.enum(['upstream', 'downstream'], 'must be upstream or downstream').default('downstream'),
  limit: z.coerce.number().int().min(1).max(20_000).default(5_000),
});

/**
 * GET /v1/lineage/{kind}/{id}?direction=upstream|downstream — the graph of records that
 * fed into (upstream) or depend on (downstream) one record. Id forms: dataset_version
 * `<datasetVersionId>` or `<datasetId>@<version>`; metric_suite_version likewise; metric_impl
 * `<metric>@<version>`; judge the fingerprint; model_version `<model>@<version>` or its id;
 * eval_run and gate_check their ids.
 */
export function lineageRouter(lineage: LineageService): Router {
  const router = Router();
  router.get(
    '/v1/lineage/:kind/:id',
    validated({ params, query }, async ({ params: p, query: q }, req, res) => {
      res.json(await lineage.graph(p.kind, p.id, q.direction, principalOf(req), q.limit));
    }),
  );
  return router;
}
