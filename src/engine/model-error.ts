import { OperatorError } from '../core/errors.ts';

/** The engine's own limit on a model call (the agent's `turnTimeoutMs`) ran out. */
export function modelTimeout(ms: number): OperatorError {
  return new OperatorError('connectivity', 'model_timeout', `model_timeout: the model did not finish within ${ms} ms`);
}
