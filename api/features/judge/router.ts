import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import { validated } from '../../http/validate';
import type { JudgeTranscriptService } from './service';

const params = z.object({ runId: z.uuid('must be a run id (uuid)') });
const query = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

export function judgeRouter(transcripts: JudgeTranscriptService): Router {
  const router = Router();
  /** Every judge call of the run (shards, then the drift canary): prompt, raw output, parsed score, latency, tokens, cost. */
  router.get(
    '/v1/eval-runs/:runId/judge-transcripts',
    validated({ params, query }, async ({ params: p, query: q }, req, res) => {
      res.json(await transcripts.list(p.runId, principalOf(req), q));
    }),
  );
  return router;
}
