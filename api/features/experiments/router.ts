import express, { Router } from 'express';
import { principalOf } from '../../http/auth';
import { validated } from '../../http/validate';
import type { ExperimentView } from '../../../domain/experiments/dal';
import type { CheckSnapshot } from '../../../domain/experiments/decide';
import {
  assignmentQuery,
  experimentBody,
  experimentParams,
  pauseBody,
  promotionRequestBody,
  rollbackBody,
} from './schemas';
import type { PromotionService } from './promotion';
import type { ExperimentService } from './service';

/** An experiment as GET /v1/experiments/{id} shows it: state, the step's statistics, decision and history. */
export function experimentView(e: ExperimentView, snapshot: CheckSnapshot) {
  const decision = e.decision as Record<string, any> | null;
  return {
    experimentId: e.experiment_id,
    name: e.name,
    ownerTeam: e.owner_team,
    workflowId: e.workflow_id,
    status: e.status,
    candidate: e.candidate,
    baseline: e.baseline,
    baselineAlias: e.baseline_alias,
    gateCheckId: e.gate_check_id,
    step: e.step,
    percent: e.percent,
    ramp: e.plan.ramp,
    exposures: snapshot.exposures,
    srm: snapshot.srm,
    guardrails: snapshot.guardrails.map((g, i) => ({
      ...g,
      event: e.plan.guardrails[i].event,
      direction: e.plan.guardrails[i].direction,
      margin: e.plan.guardrails[i].margin,
    })),
    ...(decision && decision.status !== 'paused'
      ? { decision: { status: decision.status, reason: decision.reason, message: decision.message, at: decision.at } }
      : {}),
    history: e.history,
    createdAt: e.created_at.toISOString(),
  };
}

export function experimentsRouter(experiments: ExperimentService, promotions: PromotionService): Router {
  const router = Router();

  router.post(
    '/v1/experiments/:experimentId/promotion-requests',
    validated({ params: experimentParams, body: promotionRequestBody }, async ({ params, body }, req, res) => {
      const created = await promotions.request(params.experimentId, body.reason, principalOf(req), req.requestId);
      res.status(201).json({
        overrideId: created.overrideId,
        status: 'pending',
        requiredApprovals: created.requiredApprovals,
        requestExpiresAt: created.requestExpiresAt.toISOString(),
      });
    }),
  );

  router.post(
    '/v1/experiments',
    validated({ body: experimentBody }, async ({ body }, req, res) => {
      const { experiment, created } = await experiments.create(body, principalOf(req), req.requestId);
      res.status(created ? 201 : 200).json({
        experimentId: experiment.experiment_id,
        workflowId: experiment.workflow_id,
        status: experiment.status,
      });
    }),
  );

  router.get(
    '/v1/experiments/:experimentId/assignment',
    validated({ params: experimentParams, query: assignmentQuery }, async ({ params, query }, req, res) => {
      const answer = await experiments.assignment(params.experimentId, query.unit, principalOf(req));
      // The answer changes only when the ramp moves: callers may reuse it for a second.
      res.setHeader('Cache-Control', 'private, max-age=1');
      res.json(answer);
    }),
  );

  router.post(
    '/v1/experiments/:experimentId/events',
    express.text({ type: () => true, limit: '32mb' }),
    validated({ params: experimentParams }, async ({ params }, req, res) => {
      const text = typeof req.body === 'string' ? req.body : '';
      const { accepted, counted, rejected } = await experiments.ingest(params.experimentId, text, principalOf(req));
      res.status(202).json({ accepted, counted, rejected });
    }),
  );

  router.get(
    '/v1/experiments/:experimentId',
    validated({ params: experimentParams }, async ({ params }, req, res) => {
      const { experiment, snapshot } = await experiments.status(params.experimentId, principalOf(req));
      res.json(experimentView(experiment, snapshot));
    }),
  );

  for (const kind of ['pause', 'resume', 'rollback'] as const)
    router.post(
      `/v1/experiments/:experimentId/${kind}`,
      validated(
        { params: experimentParams, body: kind === 'rollback' ? rollbackBody : pauseBody },
        async ({ params, body }, req, res) => {
          const e = await experiments.signal(params.experimentId, kind, principalOf(req), body.reason);
          res.status(202).json({ experimentId: e.experiment_id, status: e.status, requested: kind });
        },
      ),
    );

  return router;
}
