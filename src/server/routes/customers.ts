import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Customer } from '../../core/conversation.ts';
import { OperatorError } from '../../core/errors.ts';
import type { AsyncConversations, Runtime } from '../../runtime/index.ts';
import type { Store } from '../../store/index.ts';
import { parseOr400 } from '../errors.ts';
import type { RouteDoc } from '../openapi.ts';
import { customerLookupQuery, customerSchema, idParams } from '../schemas.ts';
import { conversationJson } from '../serialize.ts';

export const customerDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/customers',
    summary: 'Find a customer by phone (any common spelling, normalised to E.164), email or externalId',
    query: customerLookupQuery,
    responses: { 200: { description: 'The customer, or none', schema: z.object({ data: z.array(customerSchema) }) } },
  },
  {
    method: 'get',
    path: '/v1/customers/:id',
    summary: 'A customer with their identifiers and conversations (newest first)',
    params: idParams,
    responses: { 200: { description: 'The customer', schema: customerSchema } },
  },
  {
    method: 'delete',
    path: '/v1/customers/:id',
    summary: 'Erase a customer: identifiers, conversations, items, attachments, deliveries and memory',
    params: idParams,
    responses: { 204: { description: 'Erased' } },
  },
];

const CONVERSATIONS_SHOWN = 100;

function notFound(id: string): OperatorError {
  return new OperatorError('not_found', 'customer_not_found', `No customer ${id}`);
}

const iso = (ms: number): string => new Date(ms).toISOString();

function customerJson(c: Customer): Record<string, unknown> {
  return {
    id: c.id,
    ...(c.name ? { name: c.name } : {}),
    identifiers: c.identifiers.map((i) => ({ type: i.type, value: i.value })),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function customerRoutes(
  app: FastifyInstance,
  deps: { store: Store; runtime: Runtime; conversations: AsyncConversations },
): void {
  const { store } = deps;

  app.get('/v1/customers', async (req) => {
    const q = parseOr400(customerLookupQuery, req.query, 'query');
    const [type, value] = q.phone !== undefined ? (['phone', q.phone] as const)
      : q.email !== undefined ? (['email', q.email] as const) : (['externalId', q.externalId!] as const);
    const found = await store.customers.findByIdentifier(type, value);
    return { data: found ? [customerJson(found)] : [] };
  });

  app.get('/v1/customers/:id', async (req) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    const customer = await store.customers.get(id);
    if (!customer) throw notFound(id);
    const page = await store.conversations.list({ customerId: id, limit: CONVERSATIONS_SHOWN });
    return { ...customerJson(customer), conversations: page.data.map((c) => conversationJson(c)) };
  });

  app.delete('/v1/customers/:id', async (req, reply) => {
    const { id } = parseOr400(idParams, req.params, 'params');
    if (!(await store.customers.get(id))) throw notFound(id);
    // Live and open conversations end first (their sockets close, their timers find nothing),
    // then one cascading delete erases everything that hangs off the customer.
    for (;;) {
      const open = (await store.conversations.list({ customerId: id, limit: 100 })).data.filter((c) => c.status !== 'ended');
      if (open.length === 0) break;
      for (const c of open) {
        if (c.mode === 'async') await deps.conversations.end(c.id, 'customer_erased');
        else await deps.runtime.endConversation(c.id, 'customer_erased');
      }
    }
    await store.customers.delete(id);
    return reply.code(204).send();
  });
}
