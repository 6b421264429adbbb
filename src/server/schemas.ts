import { z } from 'zod';

/**
 * The HTTP API's schemas: they validate requests and, through `z.toJSONSchema`, make
 * `/openapi.json`, so the document cannot drift from what the server accepts.
 */

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error' });

export const itemSchema = z
  .object({
    id: z.string(),
    role: z.enum(['user', 'agent', 'tool', 'system', 'human']),
    type: z.enum(['message', 'tool_call', 'tool_result', 'dtmf', 'event']),
    text: z.string(),
    interrupted: z.boolean(),
    turnId: z.string().optional(),
    toolCallId: z.string().optional(),
    toolName: z.string().optional(),
    data: z.unknown().optional(),
    attachments: z.array(z.object({ url: z.string(), contentType: z.string() })).optional(),
    metrics: z.record(z.string(), z.number()).optional(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Item' });

export const conversationSchema = z
  .object({
    id: z.string(),
    agent: z.string(),
    channel: z.enum(['voice', 'chat', 'sms', 'email']),
    mode: z.enum(['realtime', 'async']),
    status: z.enum(['active', 'suspended', 'ended']),
    endedReason: z.string().optional(),
    customerId: z.string().optional(),
    context: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    endedAt: z.iso.datetime().optional(),
    items: z.array(itemSchema).optional(),
  })
  .meta({ id: 'Conversation' });

export const agentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().optional(),
    model: z.string(),
    tools: z.array(z.object({ name: z.string(), description: z.string() })),
  })
  .meta({ id: 'Agent' });

export const idParams = z.object({ id: z.string().min(1).max(128) });

export const listConversationsQuery = z
  .object({
    customerId: z.string().max(128).optional(),
    status: z.enum(['active', 'suspended', 'ended']).optional(),
    channel: z.enum(['voice', 'chat', 'sms', 'email']).optional(),
    cursor: z.string().max(256).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    /** The API key, for clients that cannot set headers (checked by the auth hook). */
    token: z.string().optional(),
  })
  .strict();

export const endConversationBody = z
  .object({ reason: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case, e.g. resolved').optional() })
  .strict();

export const listSchema = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const customerSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    identifiers: z.array(z.object({ type: z.enum(['phone', 'email', 'externalId']), value: z.string() })),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    /** Newest first, at most 100 (page through `GET /v1/conversations?customerId=` for more). */
    conversations: z.array(conversationSchema).optional(),
  })
  .meta({ id: 'Customer' });

/** Exactly one identifier; it is normalised as stored (E.164 phone, lower-case email). */
export const customerLookupQuery = z
  .object({
    phone: z.string().min(1).max(64).optional(),
    email: z.string().min(1).max(320).optional(),
    externalId: z.string().min(1).max(256).optional(),
    token: z.string().optional(),
  })
  .strict()
  .refine((q) => [q.phone, q.email, q.externalId].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of phone, email or externalId',
  });
