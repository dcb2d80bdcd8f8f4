import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { validated } from '../../http/validate';
import { EXAMPLE_CHANGES } from '../../../domain/comparison';
import type { ComparisonService } from './service';

const runParams = z.object({ runId: z.uuid('must be a run id (uuid)') });
const baseline = z
  .string()
  .refine(
    (s) => /^alias:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(s) || z.uuid().safeParse(s).success,
    'must be a run id or alias:<alias>, like alias:production',
  );
const compareQuery = z.object({ baseline });
const examplesQuery = z.object({
  baseline,
  change: z.enum(EXAMPLE_CHANGES, `must be one of ${EXAMPLE_CHANGES.join(', ')}`).default('regressed'),
  slice: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

export function comparisonRouter(comparisons: ComparisonService): Router {
  const router = Router();

  router.get(
    '/v1/eval-runs/:runId/comparison',
    validated({ params: runParams, query: compareQuery }, async ({ params, query }, req, res) => {
      res.json(await comparisons.compare(params.runId, query.baseline, principalOf(req)));
    }),
  );

  router.get(
    '/v1/eval-runs/:runId/comparison/examples',
    validated({ params: runParams, query: examplesQuery }, async ({ params, query }, req, res) => {
      res.json(await comparisons.examples(params.runId, query, principalOf(req)));
    }),
  );

  return router;
}
