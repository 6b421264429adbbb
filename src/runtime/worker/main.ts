import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig, type OperatorConfig } from '../../config/index.ts';
import { systemClock } from '../../core/clock.ts';
import type { Item } from '../../core/conversation.ts';
import type { MemoryHit } from '../../core/memory.ts';
import { errorMessage } from '../../core/errors.ts';
import { createSession, type ConversationSession, type ToolFunction } from '../../engine/index.ts';
import { createModel } from '../../models/index.ts';
import type { FromWorker, ToWorker, WorkerBoot } from './protocol.ts';

/**
 * A conversation worker: hosts one conversation's engine for its whole live duration (or one async
 * activation). Decisions run here; the main thread owns the socket and the store.
 */
const port = parentPort;
if (!port) throw new Error('runtime/worker/main.ts must run as a worker thread');
const boot = workerData as WorkerBoot;

function send(m: FromWorker): void {
  port!.postMessage(m);
}

// Import-time warm-up: a `.ts` config brings its tool functions; YAML configs have none.
let config: OperatorConfig | undefined;
if (/\.(m?ts|m?js)$/.test(boot.configPath)) config = await loadConfig(boot.configPath);

let session: ConversationSession | undefined;
let pending: Item[] = [];
let pendingSeq = 0;
let draining = false;
let greeting: Promise<void> | undefined;

async function drain(): Promise<void> {
  if (draining || !session) return;
  draining = true;
  try {
    if (greeting) await greeting;
    while (pending.length > 0 && session) {
      const items = pending;
      pending = [];
      send({ t: 'batch', seq: pendingSeq });
      await session.runTurn(items);
    }
  } finally {
    draining = false;
  }
  send({ t: 'idle' });
}

/** `recall_history` searches run on the main thread (it has the store): request, then await the answer. */
const recalls = new Map<number, PromiseWithResolvers<MemoryHit[]>>();
let recallSeq = 0;
function recall(query: string): Promise<MemoryHit[]> {
  const id = ++recallSeq;
  const waiting = Promise.withResolvers<MemoryHit[]>();
  recalls.set(id, waiting);
  send({ t: 'recall', id, query });
  return waiting.promise;
}

function fatal(code: string, err: unknown): void {
  send({ t: 'fatal', code, message: errorMessage(err) });
}

function onMessage(m: ToWorker): void {
  switch (m.t) {
    case 'activate': {
      const functions = (config?.functions[m.agent.id] ?? {}) as Record<string, ToolFunction>;
      session = createSession({
        agent: m.agent,
        conversation: m.conversation,
        ...(m.customer ? { customer: m.customer } : {}),
        history: m.history,
        ...(m.memory ? { memory: m.memory, recall } : {}),
        model: createModel(m.agent.model, { agent: m.agent, clock: systemClock }),
        functions,
        clock: systemClock,
        emit: (event) => send({ t: 'event', event }),
      });
      if (m.greet) greeting = session.greet().catch((err: unknown) => fatal('greeting_failed', err));
      return;
    }
    case 'input':
      pending.push(...m.items);
      pendingSeq = m.seq;
      drain().catch((err: unknown) => fatal('turn_failed', err));
      return;
    case 'recall.result': {
      const waiting = recalls.get(m.id);
      recalls.delete(m.id);
      if (m.error !== undefined) waiting?.reject(new Error(m.error));
      else waiting?.resolve(m.hits);
      return;
    }
    case 'interrupt':
      session?.interrupt(m.kind, m.delivered);
      return;
    case 'close':
      // Async workers are reused for the next activation: drop everything of this conversation.
      session?.close();
      session = undefined;
      pending = [];
      pendingSeq = 0;
      greeting = undefined;
      return;
    case 'crash':
      if ((boot as { allowTestHooks?: boolean }).allowTestHooks) throw new Error('crash requested by test hook');
      return;
  }
}

port.on('message', (m: ToWorker) => onMessage(m));
send({ t: 'ready' });
