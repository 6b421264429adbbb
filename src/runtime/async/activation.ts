import type { AgentSpec } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import type { Conversation, Customer, Item } from '../../core/conversation.ts';
import { OperatorError, errorMessage } from '../../core/errors.ts';
import type { EngineEvent } from '../../core/events.ts';
import type { CustomerMemory, MemoryHit } from '../../core/memory.ts';
import { newId } from '../../core/ids.ts';
import { answerRecall } from '../memory/recall.ts';
import type { WorkerPool } from '../pool.ts';
import { answerRequest, type HostRequestHandlers } from '../host-requests.ts';
import type { FromWorker, HostOp, ToWorker } from '../worker/protocol.ts';

export interface ActivationResult {
  turnId: string;
  /** Everything the agent wrote in the turn (async channels deliver it whole). */
  text: string;
  /** The agent called `end_conversation`. */
  endRequested: boolean;
  /** A model failure mid-turn (the text so far is still delivered). */
  error?: { code: string; message: string };
  metrics: { firstDeltaMs?: number; durationMs: number; steps: number };
}

export interface ActivationArgs {
  pool: WorkerPool;
  clock: Clock;
  agent: AgentSpec;
  conversation: Conversation;
  customer?: Customer;
  /** Items so far (context), oldest first, not including `input`. */
  history: Item[];
  /** The new items this turn answers. */
  input: Item[];
  /** Tool calls and results are stored as they happen (through this callback, in order). */
  onItem: (item: Item) => Promise<unknown>;
  timeoutMs: number;
  /** The customer's earlier conversations (memory on, known customer). */
  memory?: CustomerMemory;
  /** Answers the worker's `recall_history` searches. */
  recall?: (query: string) => Promise<MemoryHit[]>;
  /** Main-thread side of built-in tools offered in async conversations (`save_contact`). */
  requests?: HostRequestHandlers;
}

/**
 * One activation of an async conversation: borrow a warm worker, hand it the conversation's
 * history from the store, run one turn, and give the worker back with its session closed
 * (nothing of the conversation stays in memory once it is suspended; a worker that failed is
 * stopped instead).
 */
export async function runActivation(a: ActivationArgs): Promise<ActivationResult> {
  const { worker } = await a.pool.acquire();
  let writes: Promise<unknown> = Promise.resolve();
  let clean = false;
  type Listener = (arg: never) => void;
  const ours: ['message' | 'error' | 'exit', Listener][] = [];
  const on = (event: 'message' | 'error' | 'exit', fn: Listener): void => {
    worker.on(event, fn as (arg: unknown) => void);
    ours.push([event, fn]);
  };
  try {
    const result = await new Promise<ActivationResult>((resolve, reject) => {
      let done: Omit<ActivationResult, 'endRequested'> | undefined;
      let endRequested = false;
      let error: ActivationResult['error'];
      const timer = a.clock.setTimeout(
        () => reject(new OperatorError('server', 'turn_timeout', `The turn took longer than ${a.timeoutMs} ms`)),
        a.timeoutMs,
      );
      const finish = (): void => {
        timer.cancel();
        if (done) resolve({ ...done, endRequested, ...(error ? { error } : {}) });
      };
      const onEvent = (e: EngineEvent): void => {
        if (e.type === 'item') {
          const item = { ...e.item, id: newId('itm', a.clock.now()) };
          writes = writes.then(() => a.onItem(item));
        } else if (e.type === 'turn.error') {
          error = { code: e.error.code, message: e.error.message };
        } else if (e.type === 'turn.done') {
          done = { turnId: e.turnId, text: e.text, metrics: e.metrics };
        } else if (e.type === 'conversation.end') {
          endRequested = true;
        }
      };
      on('message', (m: FromWorker) => {
        if (m.t === 'event') onEvent(m.event);
        // `idle` comes after the turn's last event (conversation.end included).
        else if (m.t === 'idle') finish();
        else if (m.t === 'fatal') reject(new OperatorError('server', 'worker_crashed', `${m.code}: ${m.message}`));
        else if (m.t === 'recall' && a.recall) answerRecall(worker, m.id, () => a.recall!(m.query));
        else if (m.t === 'request') answerRequest(worker, m, a.requests, { conversation: a.conversation, agentId: a.agent.id });
      });
      on('error', (err: Error) => reject(new OperatorError('server', 'worker_crashed', errorMessage(err), { cause: err })));
      on('exit', (code: number) => reject(new OperatorError('server', 'worker_crashed', `worker exited with code ${code}`)));
      const post = (m: ToWorker): void => worker.postMessage(m);
      post({
        t: 'activate',
        agent: a.agent,
        conversation: a.conversation,
        ...(a.customer ? { customer: a.customer } : {}),
        history: a.history,
        greet: false,
        ...(a.memory ? { memory: a.memory } : {}),
        ...(a.requests && a.conversation.customerId ? { ops: (Object.keys(a.requests) as HostOp[]).filter((op) => a.requests![op]) } : {}),
      });
      post({ t: 'input', seq: 1, items: a.input });
    });
    await writes;
    clean = true;
    return result;
  } finally {
    for (const [event, fn] of ours) worker.off(event, fn as (arg: unknown) => void);
    if (clean) {
      // The worker drops the session: nothing of this conversation stays once it is suspended.
      worker.postMessage({ t: 'close' } satisfies ToWorker);
      a.pool.release(worker);
    } else {
      void worker.terminate(); // crashed, timed out or failed: never reused
    }
  }
}
