/**
 * The one error type that crosses layers: an HTTP status, a stable snake_case code,
 * a message a person can act on, and the offending field when there is one.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, field?: string) => new AppError(400, 'invalid_request', message, field);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} was not found`);
export const forbidden = (message: string) => new AppError(403, 'forbidden', message);
export const conflict = (code: string, message: string, field?: string) => new AppError(409, code, message, field);
