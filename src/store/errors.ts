import { OperatorError, errorMessage } from '../core/errors.ts';

/** Every failure from the database leaves the store as this (DESIGN.md rule 7). */
export function storageError(operation: string, err: unknown): OperatorError {
  if (err instanceof OperatorError) return err;
  return new OperatorError('server', 'storage_error', `${operation} failed: ${errorMessage(err)}`, { cause: err });
}

/** Runs a repository operation, classifying whatever the database throws. */
export async function guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(operation, err);
  }
}

const PG_UNIQUE_VIOLATION = '23505';
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;

/** A unique or primary key constraint refused a row: someone else wrote it first. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errcode?: unknown };
  return (
    e.code === PG_UNIQUE_VIOLATION || e.errcode === SQLITE_CONSTRAINT_UNIQUE || e.errcode === SQLITE_CONSTRAINT_PRIMARYKEY
  );
}

export function invalidRequest(code: string, message: string): OperatorError {
  return new OperatorError('invalid_request', code, message);
}
