import type { Worker } from 'node:worker_threads';
import { errorMessage, isOperatorError } from '../core/errors.ts';
import type { Conversation } from '../core/conversation.ts';
import type { HostOp, ToWorker } from './worker/protocol.ts';

/** Who asks: the conversation whose worker sent the request. */
export interface RequestContext {
  conversation: Conversation;
  agentId: string;
}

export type HostRequestHandler = (args: Record<string, unknown>, ctx: RequestContext) => Promise<Record<string, unknown>>;

/** The main-thread side of the built-in tools that need the store or a channel, by operation. */
export type HostRequestHandlers = Partial<Record<HostOp, HostRequestHandler>>;

/** Runs a worker's request and posts the answer back; an unknown op or a failure is an error answer. */
export function answerRequest(
  worker: Worker,
  m: { id: number; op: HostOp; args: Record<string, unknown> },
  handlers: HostRequestHandlers | undefined,
  ctx: RequestContext,
): void {
  const reply = (r: ToWorker): void => {
    try {
      worker.postMessage(r);
    } catch {
      // the worker is gone: nobody is waiting any more
    }
  };
  const handler = handlers?.[m.op];
  if (!handler) {
    reply({ t: 'response', id: m.id, error: { code: 'not_available', message: `${m.op} is not available here` } });
    return;
  }
  handler(m.args, ctx).then(
    (value) => reply({ t: 'response', id: m.id, value }),
    (err: unknown) => reply({ t: 'response', id: m.id, error: { code: isOperatorError(err) ? err.code : 'failed', message: errorMessage(err) } }),
  );
}
