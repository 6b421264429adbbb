import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Conversation } from '../../core/conversation.ts';
import type { ConversationEvent, EventBus } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { itemJson } from '../serialize.ts';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/conversations/{id}/events`: Server-Sent Events. Items after `Last-Event-ID` (or
 * `?after=`) are replayed first, so a client that reconnects misses nothing; then one `item`
 * event per new item (a later change of its delivery state is a `delivery` event) and `status`
 * events on suspend, resume and end. The stream closes after the conversation has ended.
 */
export async function streamConversationEvents(args: {
  store: Store;
  events: EventBus;
  conversation: Conversation;
  after: string | undefined;
  reply: FastifyReply;
  request: FastifyRequest;
}): Promise<void> {
  const { store, events, conversation, reply, request } = args;
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const sent = new Set<string>();
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  const write = (event: string, data: unknown, id?: string): void => {
    if (closed) return;
    raw.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendItem = async (itemId: string): Promise<void> => {
    const item = await store.items.get(itemId);
    if (!item) return;
    const delivery = await store.outbound.listByItem(itemId);
    const json = itemJson(item, delivery);
    if (sent.has(itemId)) write('delivery', { itemId, delivery: json.delivery ?? null });
    else {
      sent.add(itemId);
      write('item', json, itemId);
    }
  };
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe();
    raw.end();
  };
  const onEvent = (e: ConversationEvent): void => {
    queue = queue.then(async () => {
      if (e.kind === 'item') await sendItem(e.itemId);
      else {
        write('status', { status: e.status, ...(e.endedReason ? { endedReason: e.endedReason } : {}) });
        if (e.status === 'ended') finish();
      }
    }).catch(() => finish());
  };
  const unsubscribe = events.subscribe(conversation.id, onEvent);
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  request.raw.on('close', finish);
  raw.write('retry: 2000\n\n');
  // Replay what the client has not seen, then the live events queued meanwhile.
  queue = queue.then(async () => {
    const backlog = args.after ? await store.items.listAfter(conversation.id, args.after) : await store.items.list(conversation.id);
    for (const item of backlog) await sendItem(item.id);
    write('status', { status: conversation.status, ...(conversation.endedReason ? { endedReason: conversation.endedReason } : {}) });
    if (conversation.status === 'ended') finish();
  });
  await queue;
}
