import type { FastifyInstance } from 'fastify';
import { OperatorError } from '../../core/errors.ts';
import type { AsyncConversations, Runtime } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { parseOr400 } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import {
  conversationSchema,
  endConversationBody,
  idParams,
  listConversationsQuery,
  listSchema,
} from '../schemas.ts';
import { conversationJson } from '../serialize.ts';

export const conversationDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/conversations',
    summary: 'List conversations, newest first',
    query: listConversationsQuery,
    responses: { 200: { description: 'A page of conversations', schema: listSchema(conversationSchema) } },
  },
  {
    method: 'get',
    path: '/v1/conversations/:id',
    summary: 'A conversation with its items',
    params: idParams,
    responses: { 200: { description: 'The conversation', schema: conversationSchema } },
  },
  {
    method: 'post',
    path: '/v1/conversations/:id/end',
    summary: 'End a conversation (conversation.end)',
    params: idParams,
    body: endConversationBody,
    responses: { 200: { description: 'The ended conversation', schema: conversationSchema } },
  },
];

function notFound(id: string): OperatorError {
  return new OperatorError('not_found', 'conversation_not_found', `No conversation ${id}`);
}

export function conversationRoutes(
  app: FastifyInstance,
  deps: { store: Store; runtime: Runtime; conversations: AsyncConversations },
): void {
  app.get('/v1/conversations', async (req) => {
    const q = parseOr400(listConversationsQuery, req.query, 'query');
    const page = await deps.store.conversations.list({
      ...(q.customerId ? { customerId: q.customerId } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.channel ? { channel: q.channel } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
      limit: q.limit,
    });
    return { data: page.data.map((c) => conversationJson(c)), nextCursor: page.nextCursor ?? null };
  });

  app.get('/v1/conversations/:id', async (req) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const conv = await deps.store.conversations.get(id);
    if (!conv) throw notFound(id);
    const [items, outbound] = await Promise.all([deps.store.items.list(id), deps.store.outbound.listByConversation(id)]);
    return conversationJson(conv, items, outbound);
  });

  app.post('/v1/conversations/:id/end', async (req) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const body = parseOr400(endConversationBody, req.body, 'body');
    const existing = await deps.store.conversations.get(id);
    if (!existing) throw notFound(id);
    const reason = body.reason ?? 'api';
    if (existing.status !== 'ended') {
      if (existing.mode === 'async') await deps.conversations.end(id, reason);
      else await deps.runtime.endConversation(id, reason);
    }
    const conv = await deps.store.conversations.get(id);
    if (!conv) throw notFound(id);
    const [items, outbound] = await Promise.all([deps.store.items.list(id), deps.store.outbound.listByConversation(id)]);
    return conversationJson(conv, items, outbound);
  });
}
