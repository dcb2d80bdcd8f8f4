import type { Role } from '../../domain/principals/roles';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../../common/logger';

export interface Principal {
  principalId: string;
  name: string;
  /** team -> roles; team '*' applies to every team. */
  roles: Map<string, Set<Role>>;
}

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
    log: Logger;
    principal?: Principal;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Gives every request an id (the caller's, when sane), a child logger that carries it, and the x-request-id header. */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.header('x-request-id');
    req.requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.log = logger.child({ requestId: req.requestId });
    res.setHeader('x-request-id', req.requestId);
    next();
  };
}

/** Roles imply others: admin everything, editor and approver imply viewer. */
export function hasRole(principal: Principal, team: string, role: Role): boolean {
  for (const key of [team, '*']) {
    const roles = principal.roles.get(key);
    if (!roles) continue;
    if (roles.has(role) || roles.has('admin')) return true;
    if (role === 'viewer' && (roles.has('editor') || roles.has('approver'))) return true;
  }
  return false;
}

export function isMember(principal: Principal, team: string): boolean {
  return principal.roles.has(team) || principal.roles.has('*');
}
