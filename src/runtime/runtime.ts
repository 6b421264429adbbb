import type { Logger } from 'pino';
import type { OperatorConfig } from '../config/index.ts';
import type { AgentSpec } from '../core/agent.ts';
import type { Clock } from '../core/clock.ts';
import type { Channel, Conversation, CustomerIdentity, EndedReason } from '../core/conversation.ts';
import type { MessagePort } from 'node:worker_threads';
import { OperatorError, errorMessage } from '../core/errors.ts';
import type { CarrierAudio } from '../voice/pipeline/carrier-audio.ts';
import type { EspeakHost } from '../voice/tts/espeak-host.ts';
import type { CustomerMemory } from '../core/memory.ts';
import { newId } from '../core/ids.ts';
import type { Store } from '../store/index.ts';
import type { HostRequestHandlers } from './host-requests.ts';
import { LiveConversation } from './live-conversation.ts';
import type { LiveSink } from './live-events.ts';
import { memoryAtStart } from './memory/recall.ts';
import { summariseConversation } from './memory/summarise.ts';
import type { Metrics } from './metrics.ts';
import { WorkerPool } from './pool.ts';
import type { WorkerBoot } from './worker/protocol.ts';

export interface RuntimeOptions {
  config: OperatorConfig;
  store: Store;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  nodeId: string;
  /** Lets tests crash a worker on purpose (`{t:'crash'}`); never set in production. */
  allowTestHooks?: boolean;
}

export interface StartLiveRequest {
  agentId: string;
  channel: Channel;
  customer?: CustomerIdentity;
  context?: Record<string, unknown>;
  sink: LiveSink;
  /** A call: the worker runs the voice pipeline for this transport. */
  voice?: { carrier: CarrierAudio; canTransfer: boolean; hasKeypad: boolean };
  /** Continue a conversation created beforehand (an outbound call created by `POST /v1/calls`). */
  conversationId?: string;
}

/** The conversations this node runs: the warm worker pool and the live conversations in it. */
export class Runtime {
  readonly pool: WorkerPool;
  private readonly opts: RuntimeOptions;
  private readonly agents: Map<string, AgentSpec>;
  private readonly live = new Map<string, LiveConversation>();
  private espeak: Promise<EspeakHost> | undefined;
  private requests: HostRequestHandlers | undefined;

  constructor(opts: RuntimeOptions) {
    this.opts = opts;
    this.agents = new Map(opts.config.agents.map((a) => [a.id, a]));
    const boot: WorkerBoot & { allowTestHooks?: boolean } = {
      configPath: opts.config.path,
      warmUp: opts.config.pool.warmUp,
      ...(opts.allowTestHooks ? { allowTestHooks: true } : {}),
    };
    this.pool = new WorkerPool({
      size: opts.config.pool.size,
      maxWorkers: opts.config.pool.maxWorkers,
      script: new URL('./worker/main.ts', import.meta.url),
      workerData: boot,
      resourceLimits: {
        maxOldGenerationSizeMb: opts.config.pool.maxOldGenerationSizeMb,
        maxYoungGenerationSizeMb: opts.config.pool.maxYoungGenerationSizeMb,
      },
      onError: (err) => opts.logger.error({ err: String(err) }, 'could not start a conversation worker'),
    });
  }

  /** Marks conversations this node left live in a crash as ended, then warms the pool. */
  async start(): Promise<void> {
    const orphaned = await this.opts.store.conversations.endOrphaned(
      this.opts.nodeId,
      'server_restart',
      this.opts.clock.now(),
    );
    if (orphaned > 0) this.opts.logger.warn({ count: orphaned }, 'ended conversations left live by a previous run');
    await this.pool.start();
    this.updatePoolGauge();
  }

  /** The main-thread side of built-in tools, set once the channels exist (they are built after the runtime). */
  setRequestHandlers(handlers: HostRequestHandlers): void {
    this.requests = handlers;
  }

  listAgents(): AgentSpec[] {
    return [...this.agents.values()];
  }

  agent(id: string): AgentSpec | undefined {
    return this.agents.get(id);
  }

  liveCount(): number {
    return this.live.size;
  }

  getLive(conversationId: string): LiveConversation | undefined {
    return this.live.get(conversationId);
  }

  /**
   * The customer's live conversation with this agent on this node, if any; a call before a chat.
   * (Live conversations are held by the node that took them: another node's are not seen here.)
   */
  liveFor(customerId: string, agentId: string): LiveConversation | undefined {
    let found: LiveConversation | undefined;
    for (const live of this.live.values()) {
      const c = live.conversation;
      if (live.isEnded || c.customerId !== customerId || c.agent !== agentId) continue;
      if (c.channel === 'voice') return live;
      found ??= live;
    }
    return found;
  }

  async startLive(req: StartLiveRequest): Promise<LiveConversation> {
    const { store, clock } = this.opts;
    const existing = req.conversationId ? await this.existingConversation(req.conversationId) : undefined;
    const agentId = existing?.agent ?? req.agentId;
    const agent = this.agents.get(agentId);
    if (!agent) {
      throw new OperatorError('not_found', 'agent_not_found', `No agent "${agentId}" is configured (see GET /v1/agents)`);
    }
    // The speech host first: a worker taken from the pool is only taken when the call can start.
    const espeak = req.voice && agent.voice.tts.engine === 'espeak' ? await this.espeakPort() : undefined;
    const [lease, customer] = await Promise.all([
      this.pool.acquire(),
      existing?.customerId
        ? store.customers.get(existing.customerId)
        : req.customer && Object.keys(req.customer).length > 0
          ? store.customers.findOrCreate(req.customer, clock.now())
          : Promise.resolve(undefined),
    ]);
    this.updatePoolGauge();
    this.opts.metrics.poolWaitSeconds.observe(lease.waitedMs / 1000);
    const now = clock.now();
    const conversation: Conversation = existing ?? {
      id: newId('conv', now),
      agent: agent.id,
      channel: req.channel,
      mode: 'realtime',
      status: 'active',
      ...(customer ? { customerId: customer.id } : {}),
      context: req.context ?? {},
      nodeId: this.opts.nodeId,
      createdAt: now,
      updatedAt: now,
    };
    let memory: CustomerMemory | undefined;
    try {
      [, memory] = await Promise.all([
        existing ? undefined : store.conversations.create(conversation),
        memoryAtStart(store, { agent, customerId: customer?.id, conversationId: conversation.id, nowMs: now }, this.opts.logger),
      ]);
    } catch (err) {
      void lease.worker.terminate();
      throw err;
    }
    const live = new LiveConversation({
      deps: { ...this.opts, pool: this.pool, requests: () => this.requests },
      agent,
      conversation,
      worker: lease.worker,
      sink: (e) => {
        if (e.type === 'session.ended') this.live.delete(conversation.id);
        req.sink(e);
      },
    });
    this.live.set(conversation.id, live);
    const voice = req.voice ? { ...req.voice, ...(espeak ? { espeak } : {}) } : undefined;
    live.activate({ ...(customer ? { customer } : {}), ...(memory ? { memory } : {}), history: [], greet: true, ...(voice ? { voice } : {}) });
    return live;
  }

  /** A conversation created ahead of its call; it must still be open. */
  private async existingConversation(id: string): Promise<Conversation> {
    const conversation = await this.opts.store.conversations.get(id);
    if (!conversation) throw new OperatorError('not_found', 'conversation_not_found', `No conversation ${id}`);
    if (conversation.status === 'ended' || this.live.has(id)) {
      throw new OperatorError('conflict', 'conversation_not_open', `Conversation ${id} is ended or already connected`);
    }
    return conversation;
  }

  /** The process's espeak-ng host (started on the first call that needs it), one port per call. */
  private async espeakPort(): Promise<MessagePort> {
    this.espeak ??= import('../voice/tts/espeak-host.ts').then((m) => m.startEspeakHost());
    try {
      return (await this.espeak).connect();
    } catch (err) {
      this.espeak = undefined;
      throw new OperatorError('server', 'tts_unavailable', `espeak-ng could not start: ${errorMessage(err)}`);
    }
  }

  /** `conversation.end` from the API: a live conversation ends through its worker, else in the store. */
  async endConversation(id: string, reason: EndedReason): Promise<Conversation | undefined> {
    const live = this.live.get(id);
    if (live) await live.end(reason);
    else if ((await this.opts.store.conversations.end(id, reason, this.opts.clock.now()))?.ended) {
      await summariseConversation(this.opts.store, id, this.opts.logger, (a) => this.agents.get(a));
    }
    return this.opts.store.conversations.get(id);
  }

  /** Graceful stop: live conversations end with `server_shutdown`, workers are stopped. */
  async close(): Promise<void> {
    await Promise.all([...this.live.values()].map((l) => l.end('server_shutdown')));
    await this.pool.close();
    if (this.espeak) await (await this.espeak.catch(() => undefined))?.close();
  }

  private updatePoolGauge(): void {
    this.opts.metrics.poolIdle.set(this.pool.idle);
  }
}
