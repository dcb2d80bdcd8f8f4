import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../common/errors';
import { DomainError, type DomainErrorKind } from '../../domain/errors';

const STATUS_OF: Record<DomainErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  gone: 410,
};

export interface ErrorBody {
  error: { code: string; message: string; field?: string; requestId: string };
}

/** 404 for paths no router claimed. */
export function unknownRoute(req: Request, _res: Response, next: NextFunction) {
  next(new AppError(404, 'not_found', `no route for ${req.method} ${req.path}`));
}

/**
 * The one error handler: AppErrors go out as they are; a domain rule's refusal (DomainError)
 * gets the status of its kind; body-parser errors become 4xx;
 * anything else is a 500 `internal` whose details stay in the log under the request id.
 */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  const requestId = req.requestId ?? 'unknown';
  let appError: AppError;
  if (err instanceof AppError) {
    appError = err;
  } else if (err instanceof DomainError) {
    appError = new AppError(STATUS_OF[err.kind], err.code, err.message, err.field);
  } else if (isBodyParserError(err)) {
    appError =
      err.type === 'entity.too.large'
        ? new AppError(413, 'payload_too_large', 'request body is larger than the limit')
        : new AppError(400, 'invalid_request', 'request body is not valid JSON');
  } else {
    (req.log ?? console).error({ err, requestId }, 'unhandled error');
    appError = new AppError(500, 'internal', `internal error; quote request id ${requestId} when reporting it`);
  }
  if (appError.status < 500)
    req.log?.info({ code: appError.code, field: appError.field, status: appError.status }, appError.message);
  if (res.headersSent) {
    res.end();
    return;
  }
  const body: ErrorBody = { error: { code: appError.code, message: appError.message, requestId } };
  if (appError.field !== undefined) body.error.field = appError.field;
  res.status(appError.status).json(body);
}

function isBodyParserError(err: unknown): err is { type: string; status: number } {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { type?: unknown }).type === 'string' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}
