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
const created = z.object({ principalId: z.string(), apiKey: z.string() });
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
  return router;
}
