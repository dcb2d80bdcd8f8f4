import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../common/errors';

/** Deepest JSON nesting a request body (or a dataset row) may have. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed JSON value nests objects and arrays deeper than `max` (the top-level object or array is level
 * 1). Walked without recursion, and before anything that recurses (zod, canonical JSON, PostgreSQL's jsonb parser)
 * sees the value; V8's JSON.parse itself does not recurse. It costs one step per object or array, not per byte.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** express.json with a size limit, then the nesting limit; both answer 4xx with the API's error codes. */
export function jsonBody(limit: string, maxDepth = MAX_JSON_DEPTH): RequestHandler[] {
  return [
    express.json({ limit }),
    (req: Request, _res: Response, next: NextFunction) => {
      if (nestedDeeperThan(req.body, maxDepth))
        return next(new AppError(400, 'invalid_request', `request body is nested deeper than ${maxDepth} levels`));
      next();
    },
  ];
}
