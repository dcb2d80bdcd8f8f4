import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { AppError } from '../../common/errors';

/** Renders a zod issue path as a JSON path: metrics[0].metric */
export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );
}

export function zodToAppError(error: z.ZodError, prefix?: string): AppError {
  const issue = error.issues[0];
  const field = [prefix, jsonPath(issue.path)].filter(Boolean).join('.') || undefined;
  const message = field ? `${field}: ${issue.message}` : issue.message;
  return new AppError(400, 'invalid_request', message, field);
}

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, prefix?: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodToAppError(parsed.error, prefix);
  return parsed.data;
}

/** Where validated() leaves a handler's schemas for the OpenAPI document. */
export const VALIDATED_SCHEMAS = Symbol('evalgate.validatedSchemas');

export interface Schemas<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params?: P;
  query?: Q;
  body?: B;
}

export interface Validated<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

/**
 * One validation step for params, query and body. The parsed values are handed to the
 * handler; the raw request is never read by handlers for these parts.
 */
export function validated<
  P extends z.ZodType = z.ZodUnknown,
  Q extends z.ZodType = z.ZodUnknown,
  B extends z.ZodType = z.ZodUnknown,
>(
  schemas: Schemas<P, Q, B>,
  handler: (input: Validated<z.infer<P>, z.infer<Q>, z.infer<B>>, req: Request, res: Response) => Promise<void> | void,
) {
  const middleware = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const input = {
        params: schemas.params ? parseOr400(schemas.params, req.params) : req.params,
        query: schemas.query ? parseOr400(schemas.query, req.query) : req.query,
        body: schemas.body ? parseOr400(schemas.body, req.body ?? {}) : req.body,
      } as Validated<z.infer<P>, z.infer<Q>, z.infer<B>>;
      await handler(input, req, res);
    } catch (err) {
      next(err);
    }
  };
  // The OpenAPI document (api/http/openapi.ts) reads the schemas off the route's handler.
  return Object.assign(middleware, { [VALIDATED_SCHEMAS]: schemas as Schemas<z.ZodType, z.ZodType, z.ZodType> });
}

/** The request schemas a route handler validates with, when it was made by validated(). */
export function schemasOf(handler: unknown): Schemas<z.ZodType, z.ZodType, z.ZodType> | undefined {
  if (typeof handler !== 'function') return undefined;
  return (handler as unknown as Record<symbol, Schemas<z.ZodType, z.ZodType, z.ZodType> | undefined>)[
    VALIDATED_SCHEMAS
  ];
}

/** Sends exactly what the response schema lists, nothing more. */
export function send<T extends z.ZodType>(res: Response, status: number, schema: T, value: z.input<T>): void {
  res.status(status).json(schema.parse(value));
}
