/**
 * What a domain rule says when it refuses: a kind (the caller's fault, a missing thing, a
 * conflict with current state, or not allowed), a stable snake_case code, a message a person
 * can act on and the offending field. The domain layer knows nothing of HTTP; api/ maps the
 * kind to a status (api/http/errors.ts), activities turn it into a non-retryable failure.
 * `gone`: the thing existed and was deleted on purpose (a run's per-example outputs after retention).
 */
export type DomainErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'gone';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (message: string, field?: string) =>
  new DomainError('invalid', 'invalid_request', message, field);
export const missing = (message: string, field?: string) => new DomainError('not_found', 'not_found', message, field);
export const conflicting = (code: string, message: string, field?: string) =>
  new DomainError('conflict', code, message, field);
export const gone = (code: string, message: string) => new DomainError('gone', code, message);
export const refused = (message: string, field?: string) => new DomainError('forbidden', 'forbidden', message, field);
