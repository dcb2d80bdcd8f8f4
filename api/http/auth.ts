import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../common/errors';
import type { PrincipalService } from '../features/principals/service';
import { hasRole, type Principal } from './context';
import { type Role } from '../../domain/principals/roles';

/** Resolves `Authorization: Bearer <api key>` to a principal, or answers 401. */
export function authenticate(principals: PrincipalService) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const header = req.header('authorization') ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new AppError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"');
      const principal = await principals.authenticate(match[1]);
      if (!principal) throw new AppError(401, 'unauthenticated', 'the API key is invalid or revoked');
      req.principal = principal;
      req.log = req.log.child({ principalId: principal.principalId });
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new AppError(401, 'unauthenticated', 'authentication required');
  return req.principal;
}

export function requireRole(principal: Principal, team: string, role: Role): void {
  if (!hasRole(principal, team, role)) {
    throw new AppError(403, 'forbidden', `this needs the ${role} role on team ${team}`);
  }
}
