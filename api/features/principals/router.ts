import { Router } from 'express';
import { z } from 'zod';
import { recordName, teamName } from '../../../common/rows';
import { principalOf, requireRole } from '../../http/auth';
import { send, validated } from '../../http/validate';
import type { PrincipalService } from './service';

const role = z.enum(['viewer', 'editor', 'approver', 'admin']);
const createBody = z.strictObject({
  name: recordName,
  teams: z.array(z.strictObject({ team: teamName, roles: z.array(role).min(1) })).max(100),
});
const created = z.object({ principalId: z.string(), keyId: z.string(), apiKey: z.string() });
const principalParams = z.strictObject({ principalId: z.uuid('must be a principal id') });
const keyParams = z.strictObject({ keyId: z.uuid('must be a key id') });
const issueBody = z.strictObject({
  expiresAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 timestamp' })
    .transform((t) => new Date(t))
    .optional(),
});
const issued = z.object({ keyId: z.string(), apiKey: z.string(), expiresAt: z.date().nullable() });
const keyView = z.object({
  keyId: z.string(),
  createdAt: z.date(),
  expiresAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});
const keyList = z.object({ items: z.array(keyView) });
const me = z.object({
  principalId: z.string(),
  name: z.string(),
  teams: z.array(z.object({ team: z.string(), roles: z.array(z.string()) })),
});

export function principalsRouter(principals: PrincipalService): Router {
  const router = Router();
  router.post(
    '/v1/principals',
    validated({ body: createBody }, async ({ body }, req, res) => {
      const caller = principalOf(req);
      requireRole(caller, '*', 'admin');
      send(res, 201, created, await principals.create(body, caller.principalId, req.requestId));
    }),
  );
  router.get(
    '/v1/principals/me',
    validated({}, async (_input, req, res) => {
      send(res, 200, me, await principals.describe(principalOf(req)));
    }),
  );
  // Keys: the principal itself or an admin of every team issues, lists and revokes them (docs/security.md).
  router.post(
    '/v1/principals/:principalId/keys',
    validated({ params: principalParams, body: issueBody }, async ({ params, body }, req, res) => {
      send(res, 201, issued, await principals.issueKey(params.principalId, body, principalOf(req), req.requestId));
    }),
  );
  router.get(
    '/v1/principals/:principalId/keys',
    validated({ params: principalParams }, async ({ params }, req, res) => {
      send(res, 200, keyList, { items: await principals.listKeys(params.principalId, principalOf(req)) });
    }),
  );
  router.delete(
    '/v1/keys/:keyId',
    validated({ params: keyParams }, async ({ params }, req, res) => {
      send(res, 200, keyView, await principals.revokeKey(params.keyId, principalOf(req), req.requestId));
    }),
  );
  return router;
}
