/**
 * Errors are classified once, at the edge where they enter (DESIGN.md rule 7). Everything past the
 * edge throws or carries an `OperatorError`; its `code` is stable and part of the public contract.
 */
export type ErrorKind =
  | 'auth'
  | 'invalid_request'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limit'
  | 'connectivity'
  | 'server'
  | 'application';

const STATUS: Record<ErrorKind, number> = {
  auth: 401,
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limit: 429,
  connectivity: 502,
  server: 500,
  application: 422,
};

const RETRYABLE: Record<ErrorKind, boolean> = {
  auth: false,
  invalid_request: false,
  not_found: false,
  conflict: false,
  too_large: false,
  rate_limit: true,
  connectivity: true,
  server: true,
  application: false,
};

export interface ErrorShape {
  code: string;
  message: string;
}

export class OperatorError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly status: number;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    options?: { cause?: unknown; retryable?: boolean; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OperatorError';
    this.kind = kind;
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE[kind];
    this.status = options?.status ?? STATUS[kind];
  }

  toJSON(): ErrorShape {
    return { code: this.code, message: this.message };
  }
}

export function isOperatorError(err: unknown): err is OperatorError {
  return err instanceof OperatorError;
}

/** Turns anything thrown into an `OperatorError` without losing an existing classification. */
export function asOperatorError(err: unknown, fallbackCode = 'internal_error'): OperatorError {
  if (err instanceof OperatorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OperatorError('server', fallbackCode, message, { cause: err });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
