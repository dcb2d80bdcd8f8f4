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

/** The access model lives in domain/access/policy.ts; these are its role checks, re-exported for the routers. */
export { hasRole, isMember } from '../../domain/access/policy';
