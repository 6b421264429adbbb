import { parentPort, workerData, type Transferable } from 'node:worker_threads';
import { loadConfig, type OperatorConfig } from '../../config/index.ts';
import { systemClock } from '../../core/clock.ts';
import type { Item } from '../../core/conversation.ts';
import type { MemoryHit } from '../../core/memory.ts';
import { errorMessage } from '../../core/errors.ts';
import type { EngineEvent } from '../../core/events.ts';
import { createSession, type ConversationSession, type CustomerServices, type ToolFunction } from '../../engine/index.ts';
import { createModel } from '../../models/index.ts';
import type { FromWorker, HostOp, ToWorker, WorkerBoot } from './protocol.ts';
import { VoiceCall } from './voice.ts';
import { warmUp } from './warm-up.ts';

/**
 * A conversation worker: hosts one conversation's engine for its whole live duration (or one async
 * activation), and on calls its voice pipeline. Decisions run here; the main thread owns the
 * socket and the store.
 */
const port = parentPort;
if (!port) throw new Error('runtime/worker/main.ts must run as a worker thread');
const boot = workerData as WorkerBoot;

function send(m: FromWorker, transfer?: Transferable[]): void {
  port!.postMessage(m, transfer);
}

// Import-time warm-up: a `.ts` config brings its tool functions; YAML configs have none.
let config: OperatorConfig | undefined;
if (/\.(m?ts|m?js)$/.test(boot.configPath)) config = await loadConfig(boot.configPath);

/** Work of the turn loop, in order: user items to answer, or a fixed line to say. */
type Work = { kind: 'say'; text: string; end?: string };

let session: ConversationSession | undefined;
let voice: VoiceCall | undefined;
let pending: Item[] = [];
/** Context that came before the session existed (the activation awaits the speech engines). */
let earlyContext: Item[] = [];
let pendingSeq = 0;
let lines: Work[] = [];
let draining = false;
let greeting: Promise<void> | undefined;
/** Key presses not taken by `collect_digits`: answered together once the caller stops typing. */
let digitTimer: ReturnType<typeof setTimeout> | undefined;
let heldDigits: { seq: number; items: Item[] } = { seq: 0, items: [] };
const DIGIT_SETTLE_MS = 1500;

async function drain(): Promise<void> {
  if (draining || !session) return;
  draining = true;
  try {
    if (greeting) await greeting;
    while (session && (pending.length > 0 || lines.length > 0)) {
      const line = lines.shift();
      if (line) {
        send({ t: 'batch', seq: pendingSeq });
        await session.say(line.text, line.end);
        continue;
      }
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

function run(): void {
  drain().catch((err: unknown) => fatal('turn_failed', err));
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

/** Built-in tools that need the main thread (`save_contact`, `send_message`): request, then await the answer. */
const requests = new Map<number, PromiseWithResolvers<Record<string, unknown>>>();
let requestSeq = 0;
function request(op: HostOp, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = ++requestSeq;
  const waiting = Promise.withResolvers<Record<string, unknown>>();
  requests.set(id, waiting);
  send({ t: 'request', id, op, args });
  return waiting.promise;
}

function services(ops: readonly HostOp[] | undefined): CustomerServices | undefined {
  if (!ops || ops.length === 0) return undefined;
  return {
    ...(ops.includes('link_contact') ? { linkContact: (type: string, value: string) => request('link_contact', { type, value }) } : {}),
    ...(ops.includes('send_message') ? { sendMessage: (channel: string, text: string, key: string) => request('send_message', { channel, text, key }) } : {}),
  };
}

function fatal(code: string, err: unknown): void {
  send({ t: 'fatal', code, message: errorMessage(err) });
}

/** A call's engines still loading: `close` waits for them (a native load cut off by terminate aborts the process). */
let loading: Promise<unknown> | undefined;
/** Bumped by every `close`: an activation that finishes after one is dropped at once. */
let generation = 0;

async function activate(m: Extract<ToWorker, { t: 'activate' }>): Promise<void> {
  const forward = (event: EngineEvent) => send({ t: 'event', event });
  const mine = generation;
  if (m.voice) {
    const starting = VoiceCall.start(m.agent, m.voice, systemClock, {
      send,
      forward,
      interrupt: (kind, delivered) => session?.interrupt(kind, delivered),
      sayLine: (text, end) => {
        lines.push({ kind: 'say', text, ...(end ? { end } : {}) });
        run();
      },
    });
    loading = starting.catch(() => undefined);
    const started = await starting;
    loading = undefined;
    if (mine !== generation) {
      await started.close();
      return;
    }
    voice = started;
  }
  if (mine !== generation) return;
  const call = voice;
  const functions = (config?.functions[m.agent.id] ?? {}) as Record<string, ToolFunction>;
  session = createSession({
    agent: m.agent,
    conversation: m.conversation,
    ...(m.customer ? { customer: m.customer } : {}),
    history: [...m.history, ...earlyContext.splice(0)],
    ...(m.memory ? { memory: m.memory, recall } : {}),
    ...(call ? { call: call.call } : {}),
    ...(services(m.ops) ? { services: services(m.ops)! } : {}),
    model: createModel(m.agent.model, { agent: m.agent, clock: systemClock }),
    functions,
    clock: systemClock,
    emit: call ? (event) => call.pipeline.onEngineEvent(event) : forward,
  });
  if (m.greet) greeting = session.greet().catch((err: unknown) => fatal('greeting_failed', err));
  send({ t: 'activated' });
  if (pending.length > 0) run();
}

function onDtmf(m: Extract<ToWorker, { t: 'dtmf' }>): void {
  if (voice?.pipeline.dtmf(m.item.text)) return;
  heldDigits.items.push(m.item);
  heldDigits.seq = m.seq;
  if (digitTimer) clearTimeout(digitTimer);
  const release = () => {
    digitTimer = undefined;
    if (heldDigits.items.length === 0) return;
    pending.push(...heldDigits.items);
    pendingSeq = heldDigits.seq;
    heldDigits = { seq: 0, items: [] };
    run();
  };
  if (m.item.text === '#') release();
  else digitTimer = setTimeout(release, DIGIT_SETTLE_MS);
}

function reset(): Promise<void> {
  // Async workers are reused for the next activation: drop everything of this conversation.
  generation++;
  session?.close();
  const closing = Promise.all([voice?.close(), loading]).then(() => undefined);
  session = undefined;
  voice = undefined;
  pending = [];
  earlyContext = [];
  lines = [];
  pendingSeq = 0;
  greeting = undefined;
  if (digitTimer) clearTimeout(digitTimer);
  heldDigits = { seq: 0, items: [] };
  return closing;
}

function onMessage(m: ToWorker): void {
  switch (m.t) {
    case 'activate':
      activate(m).catch((err: unknown) => fatal(m.voice ? 'voice_unavailable' : 'activation_failed', err));
      return;
    case 'input':
      pending.push(...m.items);
      pendingSeq = m.seq;
      run();
      return;
    case 'context':
      if (session) session.addContext(m.items);
      else earlyContext.push(...m.items);
      return;
    case 'audio.in':
      voice?.pipeline.audioIn(m.data);
      return;
    case 'audio.mark':
      voice?.pipeline.markPlayed(m.name);
      return;
    case 'dtmf':
      onDtmf(m);
      return;
    case 'response': {
      const waiting = requests.get(m.id);
      requests.delete(m.id);
      if (m.error) waiting?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else waiting?.resolve(m.value ?? {});
      return;
    }
    case 'recall.result': {
      const waiting = recalls.get(m.id);
      recalls.delete(m.id);
      if (m.error !== undefined) waiting?.reject(new Error(m.error));
      else waiting?.resolve(m.hits);
      return;
    }
    case 'interrupt':
      session?.interrupt(m.kind, m.delivered);
      voice?.pipeline.stopSpeaking();
      return;
    case 'close':
      void reset().then(() => send({ t: 'closed' }));
      return;
    case 'crash':
      if ((boot as { allowTestHooks?: boolean }).allowTestHooks) throw new Error('crash requested by test hook');
      return;
  }
}

port.on('message', (m: ToWorker) => onMessage(m));
if (boot.warmUp) await warmUp().catch((err: unknown) => send({ t: 'log', level: 'warn', msg: `worker warm-up failed: ${errorMessage(err)}` }));
send({ t: 'ready' });
