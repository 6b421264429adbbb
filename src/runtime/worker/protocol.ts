import type { AgentSpec } from '../../core/agent.ts';
import type { Conversation, Customer, Item } from '../../core/conversation.ts';
import type { AbortReasonKind, EngineEvent } from '../../core/events.ts';
import type { MessagePort } from 'node:worker_threads';
import type { CustomerMemory, MemoryHit } from '../../core/memory.ts';
import type { CarrierAudio } from '../../voice/pipeline/carrier-audio.ts';

/** What a conversation worker is started with (`workerData`). */
export interface WorkerBoot {
  /** Config path: a `.ts` config is imported again inside the worker for its tool functions. */
  configPath: string;
  /** Run a scripted voice turn before reporting ready, so that a call's first turn runs compiled code. */
  warmUp?: boolean;
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
      /** A call (phone or browser voice): the pipeline runs in this worker. */
      voice?: VoiceActivation;
      /** Host operations available to this conversation (others are not offered as tools). */
      ops?: HostOp[];
    }
  /** Caller audio in the carrier's encoding (the buffer is transferred). */
  | { t: 'audio.in'; data: Uint8Array }
  /** The transport echoed a mark: the audio before it has been played. */
  | { t: 'audio.mark'; name: string }
  /** A key press, already stored as a `dtmf` item. */
  | { t: 'dtmf'; seq: number; item: Item }
  /** The answer to the worker's `request` of the same id. */
  | { t: 'response'; id: number; value?: Record<string, unknown>; error?: { code: string; message: string } }
  /** The answer to the worker's `recall` request of the same id. */
  | { t: 'recall.result'; id: number; hits: MemoryHit[]; error?: string }
  /** New user items (already stored). Items arriving while a turn runs are batched into the next. */
  | { t: 'input'; seq: number; items: Item[] }
  /** Items for the history only (already stored; a text sent during a call): no turn, no interruption. */
  | { t: 'context'; items: Item[] }
  | { t: 'interrupt'; kind: AbortReasonKind; delivered?: { turnId: string; text: string } }
  | { t: 'close' }
  /** Test hook, honoured only when the worker was started with `allowTestHooks`. */
  | { t: 'crash' };

/** Worker → main thread. */
export type FromWorker =
  | { t: 'ready' }
  /** The conversation is set up (on calls: the speech engines are loaded). */
  | { t: 'activated' }
  /** After `close`: the conversation's resources (native speech engines) are freed. */
  | { t: 'closed' }
  | { t: 'event'; event: EngineEvent }
  /** The next turn answers the inputs up to `seq` (sent right before its `turn.started`). */
  | { t: 'batch'; seq: number }
  /** No turn running and nothing queued. */
  | { t: 'idle' }
  /** A built-in tool needs the main thread (the store, the channels): see runtime/host-requests.ts. */
  | { t: 'request'; id: number; op: HostOp; args: Record<string, unknown> }
  /** `recall_history`: search the customer's earlier conversations (the store is on the main thread). */
  | { t: 'recall'; id: number; query: string }
  | { t: 'fatal'; code: string; message: string }
  /** Voice: one 20 ms frame for the transport, in its encoding (transferred). */
  | { t: 'audio.out'; data: Uint8Array }
  | { t: 'audio.mark'; name: string }
  | { t: 'audio.clear' }
  | { t: 'transcript'; text: string; final: boolean }
  /** Voice: the caller's turn, recognised; the host stores it and sends it back as `input`. */
  | { t: 'utterance'; text: string }
  /** Voice: a failure the caller's client should hear of (`tts_failed`, `stt_failed`); the call goes on. */
  | { t: 'error'; code: string; message: string }
  /** Voice: the caller barged in; the turn was cut at what they heard. */
  | { t: 'barge-in'; turnId: string; heard: string }
  | { t: 'log'; level: 'debug' | 'info' | 'warn'; msg: string; fields?: Record<string, unknown> };

/** Main-thread operations a worker may ask for. */
export type HostOp = 'link_contact' | 'send_message';

/** What a call's worker needs to run its voice pipeline. */
export interface VoiceActivation {
  carrier: CarrierAudio;
  /** Whether the carrier can transfer the call (`transfer_call` is offered only then). */
  canTransfer: boolean;
  /** Whether the caller can press keys (`collect_digits` is offered only then). */
  hasKeypad: boolean;
  /** A port to the process's espeak-ng speech host (transferred), when the agent speaks with espeak. */
  espeak?: MessagePort;
}
