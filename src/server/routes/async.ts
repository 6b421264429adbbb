import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { OperatorConfig } from '../../config/index.ts';
import type { AsyncChannel } from '../../core/agent.ts';
import type { CustomerIdentity } from '../../core/conversation.ts';
import { OperatorError } from '../../core/errors.ts';
import type { AsyncConversations, ReplyAddress, Runtime } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { parseOr400 } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import { conversationSchema, idParams } from '../schemas.ts';
import { conversationJson } from '../serialize.ts';
import { streamConversationEvents } from './sse.ts';

const customer = z
  .object({
    phone: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number like +15551234567').optional(),
    email: z.email().max(254).optional(),
    externalId: z.string().min(1).max(128).optional(),
  })
  .strict();

const attachment = z.object({ url: z.url(), contentType: z.string().min(3).max(128) }).strict();

export const createConversationBody = z
  .object({
    agent: z.string().min(1).max(64),
    channel: z.enum(['chat', 'sms', 'email']),
    customer: customer.default({}),
    context: z.record(z.string(), z.unknown()).optional(),
    message: z.string().min(1).max(8000).optional(),
    attachments: z.array(attachment).max(10).optional(),
  })
  .strict();

export const postMessageBody = z
  .object({ text: z.string().min(1).max(8000), attachments: z.array(attachment).max(10).optional(), id: z.string().max(128).optional() })
  .strict();

export const asyncDocs: RouteDoc[] = [
  {
    method: 'post', path: '/v1/conversations', summary: 'Start an async conversation (chat, sms, email); without message on sms/email the agent writes first',
    body: createConversationBody, responses: { 201: { description: 'The conversation', schema: conversationSchema } },
  },
  {
    method: 'post', path: '/v1/conversations/:id/messages', summary: 'A customer message; the reply arrives asynchronously',
    params: idParams, body: postMessageBody, responses: { 202: { description: 'Accepted', schema: z.object({ itemId: z.string() }) } },
  },
  {
    method: 'get', path: '/v1/attachments/:id', summary: 'A stored attachment (email attachments)',
    params: idParams, responses: { 200: { description: 'The file' } },
  },
  {
    method: 'get', path: '/v1/conversations/:id/events', summary: 'Server-Sent Events: item and status events of a conversation',
    params: idParams, responses: { 200: { description: 'text/event-stream' } },
  },
];

function replyAddress(config: OperatorConfig, agentId: string, channel: AsyncChannel, c: CustomerIdentity): ReplyAddress {
  if (channel === 'chat') return { to: c.externalId ?? c.email ?? c.phone ?? '', from: agentId };
  const to = channel === 'sms' ? c.phone : c.email;
  if (!to) throw new OperatorError('invalid_request', 'validation_failed', `body.customer.${channel === 'sms' ? 'phone' : 'email'}: is required on the ${channel} channel`);
  const route = channel === 'sms'
    ? config.channels.sms.find((r) => r.agent === agentId)
    : config.channels.email.find((r) => r.agent === agentId);
  if (!route) {
    throw new OperatorError('conflict', 'channel_not_configured', `Agent "${agentId}" has no ${channel} ${channel === 'sms' ? 'number' : 'address'} under channels.${channel} in the config`);
  }
  if ('number' in route) return { to, from: route.number };
  return { to, from: route.address, ...(route.name ? { fromName: route.name } : {}), subject: `A message from ${config.agents.find((a) => a.id === agentId)?.name ?? agentId}` };
}

export function asyncRoutes(
  app: FastifyInstance,
  deps: { store: Store; runtime: Runtime; conversations: AsyncConversations; config: OperatorConfig },
): void {
  app.post('/v1/conversations', async (req, reply: FastifyReply) => {
    const body = parseOr400(createConversationBody, req.body, 'body');
    if (!deps.runtime.agent(body.agent)) {
      throw new OperatorError('not_found', 'agent_not_found', `No agent "${body.agent}" is configured (see GET /v1/agents)`);
    }
    if (!body.message && body.channel !== 'chat' && Object.keys(body.customer).length === 0) {
      throw new OperatorError('invalid_request', 'validation_failed', 'body.customer: is required');
    }
    const conv = await deps.conversations.startConversation({
      agentId: body.agent, channel: body.channel, customer: body.customer,
      ...(body.context ? { context: body.context } : {}),
      ...(body.message ? { message: { text: body.message, ...(body.attachments ? { attachments: body.attachments } : {}) } } : {}),
      reply: replyAddress(deps.config, body.agent, body.channel, body.customer),
    });
    const fresh = (await deps.store.conversations.get(conv.id)) ?? conv;
    return reply.status(201).send(conversationJson(fresh, await deps.store.items.list(conv.id)));
  });

  app.post('/v1/conversations/:id/messages', async (req, reply) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const body = parseOr400(postMessageBody, req.body, 'body');
    const conv = await deps.store.conversations.get(id);
    if (!conv) throw new OperatorError('not_found', 'conversation_not_found', `No conversation ${id}`);
    const customerRecord = conv.customerId ? await deps.store.customers.get(conv.customerId) : undefined;
    const identity: CustomerIdentity = {};
    for (const i of customerRecord?.identifiers ?? []) identity[i.type] ??= i.value;
    const accepted = await deps.conversations.accept({
      channel: conv.channel as AsyncChannel, agentId: conv.agent, customer: identity, conversationId: id, text: body.text,
      ...(body.attachments ? { attachments: body.attachments } : {}),
      ...(body.id ? { externalId: `api:${body.id}` } : {}),
      reply: conv.channel === 'chat' ? { to: identity.externalId ?? '', from: conv.agent } : replyAddress(deps.config, conv.agent, conv.channel as AsyncChannel, identity),
    });
    return reply.status(202).send({ itemId: accepted.item.id, duplicate: !accepted.created });
  });

  app.get('/v1/attachments/:id', async (req, reply) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const file = await deps.store.attachments.get(id);
    if (!file) throw new OperatorError('not_found', 'attachment_not_found', `No attachment ${id}`);
    const name = (file.filename ?? id).replace(/[^\w.-]+/g, '_');
    return reply
      .type(file.contentType)
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-content-type-options', 'nosniff')
      .send(file.data);
  });

  app.get('/v1/conversations/:id/events', async (req, reply) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const conv = await deps.store.conversations.get(id);
    if (!conv) throw new OperatorError('not_found', 'conversation_not_found', `No conversation ${id}`);
    const after = (req.headers['last-event-id'] as string | undefined) ?? (req.query as { after?: string }).after;
    await streamConversationEvents({ store: deps.store, events: deps.conversations.deps.events, conversation: conv, after, reply, request: req });
  });
}
