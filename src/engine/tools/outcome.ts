import { errorMessage, isOperatorError } from '../../core/errors.ts';

/** Stable codes of failed tool calls, fed back to the model as the call's result. */
export type ToolErrorCode =
  | 'tool_invalid_arguments'
  | 'tool_not_found'
  | 'tool_not_implemented'
  | 'tool_timeout'
  | 'tool_http_error'
  | 'tool_bad_response'
  | 'tool_unreachable'
  | 'tool_failed'
  | (string & {});

export interface ToolError {
  code: ToolErrorCode;
  message: string;
}

/** What one tool call came to. Tools never throw into the turn: failures are outcomes. */
export type ToolOutcome = { ok: true; value: unknown } | { ok: false; error: ToolError };

export function success(value: unknown): ToolOutcome {
  return { ok: true, value };
}

export function failure(code: ToolErrorCode, message: string): ToolOutcome {
  return { ok: false, error: { code, message } };
}

/** A thrown error as an outcome, keeping the code of an `OperatorError`. */
export function thrownFailure(err: unknown): ToolOutcome {
  return failure(isOperatorError(err) ? err.code : 'tool_failed', errorMessage(err));
}

/**
 * A tool's return value as plain JSON (results are persisted, cloned across threads and sent to
 * the model). `undefined` becomes `null`.
 */
export function jsonResult(value: unknown): ToolOutcome {
  if (value === undefined) return success(null);
  try {
    return success(JSON.parse(JSON.stringify(value)) as unknown);
  } catch (err) {
    return failure('tool_bad_response', `tool result is not JSON-serialisable: ${errorMessage(err)}`);
  }
}
