import { Router } from 'express';
import { z } from 'zod';
import { recordName, teamName } from '../../../common/rows';
import { principalOf } from '../../http/auth';
import { pageQuery } from '../../http/pagination';
import { send, validated } from '../../http/validate';
import type { SuiteVersionRecord } from '../../../domain/suites/dal';
import { suiteVersionBody } from '../../../domain/suites/schemas';
import type { SuiteService } from './service';

const suiteParams = z.object({ metricSuiteId: z.uuid('must be a metric suite id (uuid)') });
const shareParams = suiteParams.extend({ team: teamName });

export function suiteVersionView(v: SuiteVersionRecord) {
  return {
    version: v.version,
    metrics: v.metrics,
    judge: v.judge,
    judgeFingerprint: v.judge_fingerprint,
    budget: {
      maxCostUsd: v.budget_max_cost_usd === null ? null : Number(v.budget_max_cost_usd),
      maxCalls: v.budget_max_calls === null ? null : Number(v.budget_max_calls),
    },
    requireHumanLabels: v.require_human_labels,
    contentHash: v.content_hash,
    createdAt: v.created_at.toISOString(),
  };
}

const listQuery = z.object({
  ownerTeam: teamName.optional(),
  name: z.string().min(1).max(128).optional(),
  ...pageQuery,
});

export function suitesRouter(suites: SuiteService): Router {
  const router = Router();

  router.get(
    '/v1/metric-suites',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      principalOf(req);
      const page = await suites.list(query);
      res.json({
        items: page.items.map((s) => ({
          metricSuiteId: s.metric_suite_id,
          name: s.name,
          purpose: s.purpose,
          ownerTeam: s.owner_team,
          createdAt: s.created_at.toISOString(),
        })),
        nextCursor: page.nextCursor,
      });
    }),
  );

  router.post(
    '/v1/metric-suites',
    validated(
      {
        body: z.strictObject({
          name: recordName,
          purpose: z.enum(['exploratory', 'release_blocking']),
          ownerTeam: teamName,
        }),
      },
      async ({ body }, req, res) => {
        const { suite, created } = await suites.create(body, principalOf(req), req.requestId);
        send(res, created ? 201 : 200, z.object({ metricSuiteId: z.string() }), {
          metricSuiteId: suite.metric_suite_id,
        });
      },
    ),
  );

  router.get(
    '/v1/metric-suites/:metricSuiteId',
    validated({ params: suiteParams }, async ({ params }, req, res) => {
      principalOf(req);
      const { suite, versions, sharedWith } = await suites.get(params.metricSuiteId);
      res.json({
        metricSuiteId: suite.metric_suite_id,
        name: suite.name,
        purpose: suite.purpose,
        ownerTeam: suite.owner_team,
        createdAt: suite.created_at.toISOString(),
        sharedWith,
        versions: versions.map(suiteVersionView),
      });
    }),
  );

  // A share: the suite's team consents to gates of `team` using the suite (docs/decisions/authorization.md).
  router.put(
    '/v1/metric-suites/:metricSuiteId/shares/:team',
    validated({ params: shareParams }, async ({ params }, req, res) => {
      const { created } = await suites.share(params.metricSuiteId, params.team, principalOf(req), req.requestId);
      res.status(created ? 201 : 200).json({ metricSuiteId: params.metricSuiteId, team: params.team });
    }),
  );

  router.delete(
    '/v1/metric-suites/:metricSuiteId/shares/:team',
    validated({ params: shareParams }, async ({ params }, req, res) => {
      await suites.unshare(params.metricSuiteId, params.team, principalOf(req), req.requestId);
      res.status(204).end();
    }),
  );

  router.post(
    '/v1/metric-suites/:metricSuiteId/versions',
    validated({ params: suiteParams, body: suiteVersionBody }, async ({ params, body }, req, res) => {
      const { version, created } = await suites.addVersion(params.metricSuiteId, body, principalOf(req), req.requestId);
      res.status(created ? 201 : 200).json(suiteVersionView(version));
    }),
  );

  return router;
}
