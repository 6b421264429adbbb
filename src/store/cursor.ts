import { invalidRequest } from './errors.ts';

/**
 * Cursors are opaque to clients: the id of the last row of a page, base64url-encoded. Ids sort
 * by creation time, so "the rows after the cursor" needs no second column.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, prefix: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]+_[0-9a-z]+$/.test(id) || !id.startsWith(`${prefix}_`)) {
    throw invalidRequest('invalid_cursor', 'cursor is not one this API returned; start again without it');
  }
  return id;
}

export const MAX_PAGE = 100;

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalidRequest('invalid_limit', `limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  }
  return limit;
}
