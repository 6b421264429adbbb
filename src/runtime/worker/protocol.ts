import type { AgentSpec } from '../../core/agent.ts';
import type { Conversation, Customer, Item } from '../../core/conversation.ts';
import type { AbortReasonKind, EngineEvent } from '../../core/events.ts';
import type { CustomerMemory, MemoryHit } from '../../core/memory.ts';

/** What a conversation worker is started with (`workerData`). */
export interface WorkerBoot {
  /** Config path: a `.ts` config is imported again inside the worker for its tool functions. */
  configPath: string;
}

/** Main thread → worker. Structured-clone data only. */
export type ToWorker =
  | {
      t: 'activate';
      agent: AgentSpec;
      conversation: Conversation;
      customer?: Customer;
      history: Item[];
      greet: boolean;
      /** The customer's earlier conversations; present when memory is on for a known customer. */
      memory?: CustomerMemory;
    }
  /** The answer to the worker's `recall` request of the same id. */
  | { t: 'recall.result'; id: number; hits: MemoryHit[]; error?: string }
  /** New user items (already stored). Items arriving while a turn runs are batched into the next. */
  | { t: 'input'; seq: number; items: Item[] }
  | { t: 'interrupt'; kind: AbortReasonKind; delivered?: { turnId: string; text: string } }
  | { t: 'close' }
  /** Test hook, honoured only when the worker was started with `allowTestHooks`. */
  | { t: 'crash' };

/** Worker → main thread. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'event'; event: EngineEvent }
  /** The next turn answers the inputs up to `seq` (sent right before its `turn.started`). */
  | { t: 'batch'; seq: number }
  /** No turn running and nothing queued. */
  | { t: 'idle' }
  /** `recall_history`: search the customer's earlier conversations (the store is on the main thread). */
  | { t: 'recall'; id: number; query: string }
  | { t: 'fatal'; code: string; message: string };
