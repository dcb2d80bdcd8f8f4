import { Router } from 'express';
import { z } from 'zod';
import { recordName, teamName } from '../../../common/rows';
import { authorize } from '../../../domain/access/policy';
import { principalOf } from '../../http/auth';
import { pageQuery } from '../../http/pagination';
import { send, validated } from '../../http/validate';
import { modelVersionBody } from '../../../domain/models/schemas';
import { modelVersionName, type ModelService } from './service';

const modelParams = z.object({ modelId: z.uuid('must be a model id (uuid)') });
const versionView = z.object({
  modelVersion: z.string(),
  version: z.string(),
  protocol: z.string(),
  // Endpoint, prompt template, params and pricing only for the model's team (docs/security.md, "Access model").
  endpoint: z.unknown().optional(),
  promptTemplate: z.string().nullable().optional(),
  promptTemplateHash: z.string().nullable(),
  params: z.unknown().optional(),
  pricing: z.unknown().optional(),
  createdAt: z.string(),
});

const listQuery = z.object({
  ownerTeam: teamName.optional(),
  name: z.string().min(1).max(128).optional(),
  ...pageQuery,
});

export function modelsRouter(models: ModelService): Router {
  const router = Router();

  router.get(
    '/v1/models',
    validated({ query: listQuery }, async ({ query }, req, res) => {
      principalOf(req);
      const page = await models.list(query);
      res.json({
        items: page.items.map((m) => ({
          modelId: m.model_id,
          name: m.name,
          ownerTeam: m.owner_team,
          createdAt: m.created_at.toISOString(),
        })),
        nextCursor: page.nextCursor,
      });
    }),
  );

  router.post(
    '/v1/models',
    validated(
      {
        body: z.strictObject({
          name: recordName.refine((s) => !s.includes('@'), 'must not contain @'),
          ownerTeam: teamName,
        }),
      },
      async ({ body }, req, res) => {
        const { model, created } = await models.create(body, principalOf(req), req.requestId);
        send(res, created ? 201 : 200, z.object({ modelId: z.string() }), { modelId: model.model_id });
      },
    ),
  );

  router.get(
    '/v1/models/:modelId',
    validated({ params: modelParams }, async ({ params }, req, res) => {
      const { model, versions, aliases } = await models.get(params.modelId);
      const definition = authorize(principalOf(req), 'read_definition', { kind: 'model', ownerTeam: model.owner_team });
      const shown = (v: (typeof versions)[number]) =>
        definition === 'allow'
          ? { endpoint: v.endpoint, promptTemplate: v.prompt_template, params: v.params, pricing: v.pricing }
          : {};
      res.json({
        modelId: model.model_id,
        name: model.name,
        ownerTeam: model.owner_team,
        createdAt: model.created_at.toISOString(),
        versions: versions.map((v) =>
          versionView.parse({
            modelVersion: modelVersionName(model.name, v.version),
            version: v.version,
            protocol: v.protocol,
            ...shown(v),
            promptTemplateHash: v.prompt_template_hash,
            createdAt: v.created_at.toISOString(),
          }),
        ),
        aliases: Object.fromEntries(aliases.map((a) => [a.alias, modelVersionName(model.name, a.version)])),
      });
    }),
  );

  router.post(
    '/v1/models/:modelId/versions',
    validated({ params: modelParams, body: modelVersionBody }, async ({ params, body }, req, res) => {
      const { idempotencyKey: _key, ...definition } = body;
      const { model, version, created } = await models.addVersion(
        params.modelId,
        definition,
        principalOf(req),
        req.requestId,
      );
      send(res, created ? 201 : 200, z.object({ modelVersion: z.string(), version: z.string() }), {
        modelVersion: modelVersionName(model.name, version.version),
        version: version.version,
      });
    }),
  );

  router.put(
    '/v1/models/:modelId/aliases/:alias',
    validated(
      {
        params: modelParams.extend({
          alias: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be letters, digits, _ . -'),
        }),
        body: z.strictObject({
          modelVersion: z.string().min(3),
          gateCheckId: z.uuid('must be a gate check id (uuid)').optional(),
        }),
      },
      async ({ params, body }, req, res) => {
        const moved = await models.setAlias(
          params.modelId,
          params.alias,
          body.modelVersion,
          principalOf(req),
          req.requestId,
          body.gateCheckId,
        );
        res.status(200).json({
          alias: moved.alias,
          modelVersion: moved.modelVersion,
          history: moved.history.map((h) => ({
            version: h.version,
            previous: h.previous,
            changedAt: h.changed_at.toISOString(),
            changedBy: h.changed_by,
            gateCheckId: h.gate_check_id,
            experimentId: h.experiment_id,
          })),
        });
      },
    ),
  );

  return router;
}
