import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { ConversationStatus, EndedReason } from '../core/conversation.ts';
import { errorMessage } from '../core/errors.ts';

/** What SSE subscribers and outbound webhooks hear about a conversation. */
export type ConversationEvent =
  | { conversationId: string; kind: 'item'; itemId: string }
  | { conversationId: string; kind: 'status'; status: ConversationStatus; endedReason?: EndedReason };

export interface EventBus {
  publish(e: ConversationEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(conversationId: string, fn: (e: ConversationEvent) => void): () => void;
  close(): Promise<void>;
}

/** One node: an in-process emitter. */
export class LocalEventBus implements EventBus {
  protected readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(e: ConversationEvent): void {
    this.emitter.emit(e.conversationId, e);
  }

  subscribe(conversationId: string, fn: (e: ConversationEvent) => void): () => void {
    this.emitter.on(conversationId, fn);
    return () => this.emitter.off(conversationId, fn);
  }

  close(): Promise<void> {
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
}

const CHANNEL = 'operator_conversation_events';

/**
 * Several nodes on one PostgreSQL: events go through `NOTIFY` so that an SSE client connected to
 * one node hears about a turn another node ran. Payloads carry ids only (NOTIFY is limited to
 * 8000 bytes); subscribers read the item from the store.
 */
export class PostgresEventBus extends LocalEventBus {
  private readonly client: pg.Client;
  private readonly onError: (err: unknown) => void;

  private constructor(client: pg.Client, onError: (err: unknown) => void) {
    super();
    this.client = client;
    this.onError = onError;
  }

  static async connect(databaseUrl: string, onError: (err: unknown) => void): Promise<PostgresEventBus> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const bus = new PostgresEventBus(client, onError);
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      try {
        const e = JSON.parse(n.payload) as ConversationEvent;
        bus.emitter.emit(e.conversationId, e);
      } catch (err) {
        onError(err);
      }
    });
    client.on('error', onError);
    await client.query(`LISTEN ${CHANNEL}`);
    return bus;
  }

  override publish(e: ConversationEvent): void {
    this.client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(e)]).catch((err: unknown) => {
      this.onError(new Error(`could not publish a conversation event: ${errorMessage(err)}`));
      super.publish(e); // at least this node's subscribers hear it
    });
  }

  override async close(): Promise<void> {
    await super.close();
    await this.client.end().catch(() => undefined);
  }
}
