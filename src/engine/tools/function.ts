import type { FunctionToolSpec } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import { ABORTED, deadline, raceAbort } from '../abort.ts';
import type { ToolContext, ToolFunction } from '../types.ts';
import { type ToolOutcome, failure, jsonResult, thrownFailure } from './outcome.ts';

/**
 * Calls an in-process tool function with its own signal (the turn's, plus the tool's timeout on
 * the injected clock). A function that ignores the signal is not waited for past it.
 */
export async function callFunction(
  spec: FunctionToolSpec,
  fn: ToolFunction | undefined,
  args: Record<string, unknown>,
  ctx: ToolContext,
  clock: Clock,
): Promise<ToolOutcome> {
  if (!fn) return failure('tool_not_implemented', `no function is registered for the tool ${spec.name}`);
  const timeout = deadline(clock, spec.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  try {
    const value = await raceAbort(
      Promise.resolve().then(() => fn(args, { ...ctx, signal })),
      signal,
    );
    if (value !== ABORTED) return jsonResult(value);
    if (timeout.signal.aborted) return failure('tool_timeout', `${spec.name} did not finish within ${spec.timeoutMs} ms`);
    return failure('cancelled', 'the turn was interrupted');
  } catch (err) {
    return thrownFailure(err);
  } finally {
    timeout.cancel();
  }
}
