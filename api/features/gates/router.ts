import { Router } from 'express';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { Principal } from '../../http/context';
import { send, validated } from '../../http/validate';
import { checkView, overrideView, type CheckService } from './checks';
import type { OverrideService } from './overrides';
import {
  approvalBody,
  characteristicsQuery,
  characteristicsResponse,
  checkBody,
  checkParams,
  gateBody,
  gateParams,
  listQuery,
  overrideParams,
  overrideRequestBody,
  powerWarning,
  waitQuery,
} from './schemas';
import { gateVersionView, type GateService } from './service';

/** The online experiments a gate's checks started, as GET /v1/gates/{id} lists them. */
export type GateExperiments = (
  gateId: string,
) => Promise<{ experimentId: string; name: string; status: string; gateCheckId: string; candidate: string }[]>;

/** Experiments' early-promotion overrides share /v1/overrides/{id}: each answers undefined for a gate check's override. */
export interface ExperimentOverrides {
  find(
    overrideId: string,
    principal: Principal,
  ): Promise<{ override: Record<string, any>; experiment: { experiment_id: string; status: string } } | undefined>;
  approve(
    overrideId: string,
    body: { comment?: string },
    principal: Principal,
    requestId: string,
  ): Promise<{ override: Record<string, any>; experiment: { experiment_id: string; status: string } } | undefined>;
}

const experimentOverrideView = (found: {
  override: Record<string, any>;
  experiment: { experiment_id: string; status: string };
}) => ({
  ...overrideView(found.override),
  experimentId: found.experiment.experiment_id,
  experimentStatus: found.experiment.status,
});

export function gatesRouter(
  gates: GateService,
  checks: CheckService,
  overrides: OverrideService,
  experimentsOf: GateExperiments = async () => [],
  experimentOverrides?: ExperimentOverrides,
): Router {
  const router = Router();

  router.post(
    '/v1/gates',
    validated({ body: gateBody }, async ({ body }, req, res) => {
      const { gate, version, created, warnings } = await gates.create(body, principalOf(req), req.requestId);
      send(
        res,
        created ? 201 : 200,
        z.object({ gateId: z.string(), name: z.string(), version: z.number(), warnings: z.array(powerWarning) }),
        { gateId: gate.gate_id, name: gate.name, version: version.version, warnings },
      );
    }),
  );

  router.post(
    '/v1/gates/preview',
    validated({ body: gateBody, query: characteristicsQuery }, async ({ body, query }, req, res) => {
      send(res, 200, characteristicsResponse, await gates.preview(body, principalOf(req), query.discordance));
    }),
  );

  router.get(
    '/v1/gates/:gateId/operating-characteristics',
    validated({ params: gateParams, query: characteristicsQuery }, async ({ params, query }, req, res) => {
      send(
        res,
        200,
        characteristicsResponse,
        await gates.operatingCharacteristics(params.gateId, principalOf(req), query.discordance),
      );
    }),
  );

  router.get(
    '/v1/gates',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      const { items, nextCursor } = await gates.list(query, principalOf(req));
      res.json({
        items: items.map((g) => ({
          gateId: g.gate_id,
          name: g.name,
          ownerTeam: g.owner_team,
          createdAt: g.created_at.toISOString(),
        })),
        nextCursor,
      });
    }),
  );

  router.get(
    '/v1/gates/:gateId',
    validated({ params: gateParams }, async ({ params }, req, res) => {
      const { gate, versions } = await gates.get(params.gateId, principalOf(req));
      res.json({
        gateId: gate.gate_id,
        name: gate.name,
        ownerTeam: gate.owner_team,
        createdAt: gate.created_at.toISOString(),
        latest: gateVersionView(versions[versions.length - 1]),
        versions: versions.map(gateVersionView),
        experiments: await experimentsOf(gate.gate_id),
      });
    }),
  );

  router.post(
    '/v1/gates/:gateId/checks',
    validated({ params: gateParams, body: checkBody }, async ({ params, body }, req, res) => {
      const { check, created } = await checks.start(params.gateId, body, principalOf(req), req.requestId);
      send(res, created ? 202 : 200, z.object({ checkId: z.string(), status: z.string() }), {
        checkId: check.check_id,
        status: check.status,
      });
    }),
  );

  router.get(
    '/v1/gate-checks/:checkId',
    validated({ params: checkParams, query: waitQuery }, async ({ params, query }, req, res) => {
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      const ctx = await checks.get(params.checkId, principalOf(req), query.wait ?? 0, gone.signal);
      res.json(checkView(ctx, await checks.overridesOf(params.checkId)));
    }),
  );

  router.post(
    '/v1/gate-checks/:checkId/override-requests',
    validated({ params: checkParams, body: overrideRequestBody }, async ({ params, body }, req, res) => {
      const created = await overrides.request(params.checkId, body, principalOf(req), req.requestId);
      res.status(202).json({
        overrideId: created.overrideId,
        status: 'requested',
        rules: created.rules,
        requiredApprovals: created.requiredApprovals,
        requestExpiresAt: created.requestExpiresAt.toISOString(),
      });
    }),
  );

  router.get(
    '/v1/overrides/:overrideId',
    validated({ params: overrideParams }, async ({ params }, req, res) => {
      const ofExperiment = await experimentOverrides?.find(params.overrideId, principalOf(req));
      if (ofExperiment) {
        res.json(experimentOverrideView(ofExperiment));
        return;
      }
      const { ctx } = await overrides.find(params.overrideId, principalOf(req));
      const all = await checks.overridesOf(ctx.check.check_id);
      res.json({
        ...overrideView(all.find((o) => o.override_id === params.overrideId)!),
        checkStatus: (await checks.get(ctx.check.check_id, principalOf(req))).check.status,
      });
    }),
  );

  router.post(
    '/v1/overrides/:overrideId/approvals',
    validated({ params: overrideParams, body: approvalBody }, async ({ params, body }, req, res) => {
      const ofExperiment = await experimentOverrides?.approve(params.overrideId, body, principalOf(req), req.requestId);
      if (ofExperiment) {
        res.status(202).json(experimentOverrideView(ofExperiment));
        return;
      }
      const override = await overrides.approve(params.overrideId, body, principalOf(req), req.requestId);
      const { check } = await checks.get(override.check_id!, principalOf(req));
      res.status(202).json({ ...overrideView(override), checkStatus: check.status });
    }),
  );

  return router;
}
