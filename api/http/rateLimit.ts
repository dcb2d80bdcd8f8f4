import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { AppError } from '../../common/errors';
import { takeRequest } from '../../domain/rateLimits/dal';

const WINDOW_MS = 60_000;

/**
 * Per-principal request limit, kept in PostgreSQL so every API process draws on the same allowance: over it,
 * 429 `rate_limited` with `Retry-After` (seconds). Runs after authentication and before the body is read.
 * `perMinute` 0 turns it off.
 */
export function rateLimit(pool: Pool, perMinute: number) {
  const intervalMs = WINDOW_MS / perMinute;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!perMinute || !req.principal) return next();
    try {
      const decision = await takeRequest(pool, req.principal.principalId, intervalMs, WINDOW_MS);
      if (decision.admitted) return next();
      res.setHeader('retry-after', String(decision.retryAfterSeconds));
      next(
        new AppError(
          429,
          'rate_limited',
          `more than ${perMinute} requests a minute from this principal; retry after ${decision.retryAfterSeconds} s`,
        ),
      );
    } catch (err) {
      next(err);
    }
  };
}
