import type { Transferable, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { AgentSpec } from '../core/agent.ts';
import type { Clock } from '../core/clock.ts';
import type { Conversation, Customer, EndedReason, Item } from '../core/conversation.ts';
import type { CustomerMemory } from '../core/memory.ts';
import { errorMessage } from '../core/errors.ts';
import type { EngineEvent } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import { renderTemplate, templateVars } from '../engine/index.ts';
import type { AppendResult, Store } from '../store/index.ts';
import type { LiveEvent, LiveSink } from './live-events.ts';
import { answerRecall, searchMemory } from './memory/recall.ts';
import { summariseConversation } from './memory/summarise.ts';
import type { Metrics } from './metrics.ts';
import type { WorkerPool } from './pool.ts';
import { TurnTracker, type TrackedTurn } from './turn-tracker.ts';
import { answerRequest, type HostRequestHandlers } from './host-requests.ts';
import type { FromWorker, HostOp, ToWorker, VoiceActivation } from './worker/protocol.ts';

export interface LiveDeps {
  store: Store;
  pool: WorkerPool;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  nodeId: string;
  /** Main-thread side of built-in tools (`save_contact`, `send_message`); read at each request. */
  requests?: () => HostRequestHandlers | undefined;
}

/**
 * One real-time conversation on the main thread: it owns the store writes and the transport, the
 * worker owns the decisions. Every output goes through `sink`; everything the customer sent is
 * stored before the worker sees it (DESIGN.md rule 4); agent messages are stored as delivered.
 */
export class LiveConversation {
  readonly conversation: Conversation;
  private readonly deps: LiveDeps;
  private readonly agent: AgentSpec;
  private readonly worker: Worker;
  private readonly sink: LiveSink;
  private readonly log: Logger;
  private readonly turns = new TurnTracker();
  /** Store writes in issue order; `end()` waits for them. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Client message ids seen: a resend is acknowledged again but neither interrupts nor is answered twice. */
  private readonly externalIds = new Set<string>();
  private ended = false;
  private endedPromise: Promise<void> | undefined;

  constructor(args: {
    deps: LiveDeps;
    agent: AgentSpec;
    conversation: Conversation;
    worker: Worker;
    sink: LiveSink;
  }) {
    this.deps = args.deps;
    this.agent = args.agent;
    this.conversation = args.conversation;
    this.worker = args.worker;
    this.sink = args.sink;
    this.log = args.deps.logger.child({ conversationId: args.conversation.id, agent: args.agent.id });
    this.worker.on('message', (m: FromWorker) => this.onWorker(m));
    this.worker.on('error', (err) => this.onCrash(err));
    this.worker.on('exit', (code) => {
      if (!this.ended) this.onCrash(new Error(`worker exited with code ${code}`));
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Hands the conversation to its worker. The greeting is static text, so it is said from here at
   * once (no worker round trip, never lost to a customer who types first) and handed to the
   * worker as history.
   */
  activate(opts: { customer?: Customer; memory?: CustomerMemory; history: Item[]; greet: boolean; voice?: VoiceActivation }): void {
    const history = [...opts.history];
    // On a call the greeting is spoken, so the worker's pipeline says it.
    const greeting = opts.greet && !opts.voice ? this.greetingText(opts.customer, opts.memory) : undefined;
    this.deps.metrics.liveConversations.inc({ channel: this.conversation.channel });
    this.emit({ type: 'session.started', conversationId: this.conversation.id, agent: this.agent.id });
    if (greeting) {
      const turnId = newId('turn', this.deps.clock.now());
      const turn = this.turns.started(turnId, this.deps.clock.monotonic());
      this.onDelta(turnId, greeting);
      history.push(this.finishTurn(turn, false));
    }
    this.post({
      t: 'activate',
      agent: this.agent,
      conversation: this.conversation,
      ...(opts.customer ? { customer: opts.customer } : {}),
      history,
      greet: opts.greet && opts.voice !== undefined,
      ...(opts.memory ? { memory: opts.memory } : {}),
      ...(opts.voice ? { voice: opts.voice } : {}),
      ...(this.ops().length > 0 ? { ops: this.ops() } : {}),
    }, opts.voice?.espeak ? [opts.voice.espeak] : undefined);
  }

  /** The host operations this conversation offers its built-in tools (a known customer is needed). */
  private ops(): HostOp[] {
    const handlers = this.deps.requests?.();
    if (!handlers || !this.conversation.customerId) return [];
    return (Object.keys(handlers) as HostOp[]).filter((op) => handlers[op] !== undefined);
  }

  /** Caller audio in the transport's encoding. */
  audioIn(data: Uint8Array): void {
    if (this.ended) return;
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    this.post({ t: 'audio.in', data: own }, [own.buffer as ArrayBuffer]);
  }

  /** The transport echoed one of our marks. */
  markPlayed(name: string): void {
    if (!this.ended) this.post({ t: 'audio.mark', name });
  }

  /** A key press: stored as a `dtmf` item, then handed to the pipeline. */
  async dtmf(digit: string): Promise<void> {
    if (this.ended) return;
    const item = this.newItem({ role: 'user', type: 'dtmf', text: digit });
    const { item: stored } = await this.persist(item);
    if (this.ended) return;
    this.emit({ type: 'user.accepted', itemId: stored.id });
    this.post({ t: 'dtmf', seq: this.turns.input(this.deps.clock.monotonic()), item: stored });
  }

  /**
   * A message the customer sent on another channel meanwhile (a text during a call): stored here
   * too, idempotent on `externalId`, and added to the engine's history for its next turn. It
   * neither starts a turn nor interrupts the agent. Undefined once the conversation has ended.
   */
  async addContext(fields: Pick<Item, 'text' | 'data' | 'attachments'> & { externalId: string }): Promise<Item | undefined> {
    if (this.ended) return undefined;
    const { item: stored, created } = await this.persist({ ...this.newItem({ role: 'user', type: 'message', text: fields.text }), ...fields });
    if (created && !this.ended) this.post({ t: 'context', items: [stored] });
    return this.ended ? undefined : stored;
  }

  /** Records a call event (transfer, carrier status) in the transcript. */
  note(text: string): Promise<AppendResult> {
    return this.persist(this.newItem({ role: 'system', type: 'event', text }));
  }

  private newItem(fields: Pick<Item, 'role' | 'type' | 'text'>): Item {
    return { id: newId('itm', this.deps.clock.now()), conversationId: this.conversation.id, interrupted: false, createdAt: this.deps.clock.now(), ...fields };
  }

  private greetingText(customer: Customer | undefined, memory: CustomerMemory | undefined): string | undefined {
    if (!this.agent.greeting) return undefined;
    const vars = templateVars({
      agent: this.agent,
      conversation: this.conversation,
      ...(customer ? { customer } : {}),
      ...(memory ? { memory } : {}),
      clock: this.deps.clock,
    });
    return renderTemplate(this.agent.greeting, vars).trim() || undefined;
  }

  /**
   * A customer message: stored first, then it interrupts whatever the agent is saying and starts a
   * turn. A message resent with an `externalId` already seen is acknowledged with the stored item
   * and changes nothing else (DESIGN.md rule 4: idempotent on the sender's id).
   */
  async userMessage(text: string, externalId?: string): Promise<Item | undefined> {
    if (this.ended) return undefined;
    const receivedAt = this.deps.clock.monotonic();
    const resent = externalId ? this.externalIds.has(externalId) : false;
    if (externalId) this.externalIds.add(externalId);
    if (!resent) this.interruptActive('NewUserMessage');
    const item: Item = {
      id: newId('itm', this.deps.clock.now()),
      conversationId: this.conversation.id,
      role: 'user',
      type: 'message',
      text,
      interrupted: false,
      ...(externalId ? { externalId } : {}),
      createdAt: this.deps.clock.now(),
    };
    const { item: stored, created } = await this.persist(item);
    this.log.debug({ itemId: stored.id, created, pii: { text } }, 'user message stored');
    if (this.ended) return stored;
    this.emit({ type: 'user.accepted', itemId: stored.id });
    if (!created) return stored;
    const seq = this.turns.input(receivedAt);
    this.post({ t: 'input', seq, items: [stored] });
    return stored;
  }

  /**
   * Voice: the caller's turn as the worker recognised it. Its audio was never stored, so there is
   * no provider message to acknowledge: the transcript is queued for the store (before anything
   * the turn will write, so the order holds) and the turn starts at once, without waiting for the
   * disk — the write is on the store's queue, not on the caller's wait.
   */
  utterance(text: string): void {
    if (this.ended) return;
    const receivedAt = this.deps.clock.monotonic();
    this.interruptActive('NewUserMessage');
    const item = this.newItem({ role: 'user', type: 'message', text });
    void this.persist(item).then(() => this.emit({ type: 'user.accepted', itemId: item.id }));
    this.post({ t: 'input', seq: this.turns.input(receivedAt), items: [item] });
  }

  /** Ends the conversation once; later calls wait for the first. */
  end(reason: EndedReason, transferTo?: string): Promise<void> {
    this.endedPromise ??= this.doEnd(reason, transferTo);
    return this.endedPromise;
  }

  private async doEnd(reason: EndedReason, transferTo?: string): Promise<void> {
    this.interruptActive('ConversationEnded');
    this.ended = true;
    const closed = this.workerClosed();
    this.post({ t: 'close' });
    await this.writes.catch(() => undefined);
    try {
      await this.deps.store.conversations.end(this.conversation.id, reason, this.deps.clock.now());
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'could not mark the conversation ended');
    }
    await summariseConversation(this.deps.store, this.conversation.id, this.log, () => this.agent);
    this.deps.metrics.liveConversations.dec({ channel: this.conversation.channel });
    this.deps.metrics.conversationsEnded.inc({ channel: this.conversation.channel, reason });
    this.log.info({ reason }, 'conversation ended');
    this.sink({ type: 'session.ended', reason, ...(transferTo ? { transferTo } : {}) });
    // Native engines (a call's speech decoder) must be freed by the worker before it is stopped.
    void closed.then(() => this.worker.terminate());
  }

  private workerClosed(): Promise<void> {
    return new Promise<void>((resolve) => {
      // A call's engines may still be loading (pocketsphinx, onnxruntime): up to a few seconds under load.
      const timer = setTimeout(done, 5000);
      const onMessage = (m: FromWorker) => m.t === 'closed' && done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.worker.on('message', onMessage);
      this.worker.once('exit', done);
    });
  }

  /** Voice: the caller cut the agent off; the worker already stopped the turn at what was heard. */
  private bargeIn(turnId: string, heard: string): void {
    const turn = this.turns.live(turnId);
    if (!turn) return;
    turn.interrupted = true;
    turn.delivered = heard;
    this.finishTurn(turn, true);
  }

  /** Cuts the answering turn at what was delivered; the worker is told so its history matches. */
  private interruptActive(kind: 'NewUserMessage' | 'ConversationEnded'): void {
    const turn = this.turns.active();
    if (turn) {
      turn.interrupted = true;
      this.finishTurn(turn, true);
      this.post({ t: 'interrupt', kind, delivered: { turnId: turn.turnId, text: turn.delivered } });
    } else if (this.turns.inputInFlight()) {
      this.post({ t: 'interrupt', kind });
    }
  }

  private onWorker(m: FromWorker): void {
    if (m.t === 'audio.out') this.emit({ type: 'audio', data: m.data });
    else if (m.t === 'audio.mark') this.emit({ type: 'audio.mark', id: m.name });
    else if (m.t === 'audio.clear') this.emit({ type: 'audio.clear' });
    else if (m.t === 'transcript') this.emit({ type: 'user.transcript', text: m.text, final: m.final });
    else if (m.t === 'utterance') this.utterance(m.text);
    else if (m.t === 'barge-in') this.bargeIn(m.turnId, m.heard);
    else if (m.t === 'error') this.emit({ type: 'error', code: m.code, message: m.message });
    else if (m.t === 'log') this.log[m.level](m.fields ?? {}, m.msg);
    else if (m.t === 'event') this.onEngineEvent(m.event);
    else if (m.t === 'request') answerRequest(this.worker, m, this.deps.requests?.(), { conversation: this.conversation, agentId: this.agent.id });
    else if (m.t === 'batch') this.turns.batch(m.seq);
    else if (m.t === 'fatal' && m.code === 'voice_unavailable') this.onSetupFailed(m.message);
    else if (m.t === 'fatal') this.onCrash(new Error(`${m.code}: ${m.message}`));
    else if (m.t === 'recall' && this.conversation.customerId) {
      const target = { agent: this.agent, customerId: this.conversation.customerId, conversationId: this.conversation.id, nowMs: this.deps.clock.now() };
      answerRecall(this.worker, m.id, () => searchMemory(this.deps.store, target, m.query));
    }
  }

  private onEngineEvent(e: EngineEvent): void {
    if (this.ended && e.type !== 'item') return;
    switch (e.type) {
      case 'turn.started':
        this.turns.started(e.turnId, this.deps.clock.monotonic());
        return;
      case 'agent.delta':
        return this.onDelta(e.turnId, e.text);
      case 'tool.started':
        if (this.turns.live(e.turnId)) this.emit(e);
        return;
      case 'tool.finished':
        return this.onToolFinished(e);
      case 'item':
        // Re-issued here: this thread is the conversation's one writer, so its ids give the order.
        void this.persist({ ...e.item, id: newId('itm', this.deps.clock.now()) });
        return;
      case 'turn.error':
        this.log.warn({ turnId: e.turnId, code: e.error.code, err: e.error.message }, 'turn failed');
        if (this.turns.live(e.turnId)) this.emit({ type: 'error', code: e.error.code, message: e.error.message });
        return;
      case 'turn.done': {
        const turn = this.turns.get(e.turnId);
        if (turn && !turn.interrupted && !turn.done) this.finishTurn(turn, e.interrupted, e.voice);
        return;
      }
      case 'conversation.end':
        if (e.transferTo) void this.note(`transferred to ${e.transferTo}`);
        void this.writes.then(() => this.end(e.reason, e.transferTo));
        return;
    }
  }

  private onDelta(turnId: string, text: string): void {
    const turn = this.turns.live(turnId);
    if (!turn) return; // data events of an interrupted turn are dropped (DESIGN.md rule 1)
    if (turn.firstDeltaAtMs === undefined) {
      turn.firstDeltaAtMs = this.deps.clock.monotonic();
      if (turn.coverage > 0) {
        this.deps.metrics.turnFirstDeltaSeconds.observe(
          { agent: this.agent.id, channel: this.conversation.channel },
          (turn.firstDeltaAtMs - turn.inputAtMs) / 1000,
        );
      }
    }
    turn.delivered += text;
    this.emit({ type: 'agent.delta', turnId, text });
  }

  private onToolFinished(e: Extract<EngineEvent, { type: 'tool.finished' }>): void {
    const outcome = e.ok ? 'ok' : 'error';
    this.deps.metrics.toolCallSeconds.observe({ agent: this.agent.id, tool: e.name, outcome }, e.durationMs / 1000);
    if (!e.ok) this.deps.metrics.toolCallErrors.inc({ agent: this.agent.id, tool: e.name });
    if (this.turns.live(e.turnId)) {
      this.emit({ type: 'tool.finished', turnId: e.turnId, callId: e.callId, name: e.name, ok: e.ok });
    }
  }

  /** Stores the agent's message as delivered, then acknowledges it with `agent.done`. */
  private finishTurn(turn: TrackedTurn, interrupted: boolean, voice?: Record<string, number>): Item {
    turn.done = true;
    const now = this.deps.clock.monotonic();
    this.deps.metrics.turnDurationSeconds.observe(
      { agent: this.agent.id, channel: this.conversation.channel, interrupted: String(interrupted) },
      (now - turn.inputAtMs) / 1000,
    );
    const metrics: Record<string, number> = { durationMs: now - turn.inputAtMs };
    if (turn.firstDeltaAtMs !== undefined) metrics.firstDeltaMs = turn.firstDeltaAtMs - turn.inputAtMs;
    if (voice) {
      Object.assign(metrics, voice);
      for (const [stage, ms] of Object.entries(voice)) this.deps.metrics.voiceTurnSeconds.observe({ agent: this.agent.id, stage: stage.replace(/Ms$/, '') }, ms / 1000);
    }
    const item: Item = {
      id: newId('itm', this.deps.clock.now()),
      conversationId: this.conversation.id,
      role: 'agent',
      type: 'message',
      text: turn.delivered,
      interrupted,
      turnId: turn.turnId,
      metrics,
      createdAt: this.deps.clock.now(),
    };
    const done: LiveEvent = { type: 'agent.done', turnId: turn.turnId, text: turn.delivered, interrupted, itemId: item.id };
    if (turn.delivered === '') {
      this.emit(done);
      return item;
    }
    void this.persist(item).then(() => this.emit(done));
    return item;
  }

  private persist(item: Item): Promise<AppendResult> {
    const p = this.writes.then(() => this.deps.store.items.append(item));
    this.writes = p.catch((err: unknown) => {
      this.log.error({ err: errorMessage(err), itemId: item.id }, 'could not store an item');
    });
    return p;
  }

  private onCrash(err: unknown): void {
    if (this.ended) return;
    const oom = /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(`${(err as { code?: string }).code ?? ''} ${errorMessage(err)}`);
    this.deps.metrics.workerCrashes.inc();
    this.log.error({ err: errorMessage(err), stack: (err as Error)?.stack, oom }, 'conversation worker crashed');
    this.emit({
      type: 'error',
      code: oom ? 'worker_out_of_memory' : 'worker_crashed',
      message: oom
        ? 'The conversation exceeded its memory limit and was stopped.'
        : 'The conversation stopped because of an internal error.',
    });
    void this.end('error');
  }

  /** The call's speech engines could not load (missing package, bad key): not a crash, a setup error. */
  private onSetupFailed(message: string): void {
    if (this.ended) return;
    this.log.error({ err: message }, 'the call could not start its speech engines');
    this.emit({ type: 'error', code: 'voice_unavailable', message: `The call's speech engines could not start: ${message}` });
    void this.end('error');
  }

  private emit(e: LiveEvent): void {
    if (!this.ended) this.sink(e);
  }

  private post(m: ToWorker, transfer?: Transferable[]): void {
    try {
      this.worker.postMessage(m, transfer);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not reach the conversation worker');
    }
  }
}
