import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { LanguageModelV3, LanguageModelV3Message } from '@ai-sdk/provider';
import type { AgentSpec, ToolSpec, WebhookToolSpec } from '../../src/core/agent.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { Channel, Customer, Item } from '../../src/core/conversation.ts';
import type { EngineEvent } from '../../src/core/events.ts';
import { newId } from '../../src/core/ids.ts';
import { createSession } from '../../src/engine/index.ts';
import type { ConversationSession, ToolFunction } from '../../src/engine/index.ts';
import { testAgent } from '../../src/testing/agent.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';

export const CONVERSATION_ID = 'conv_test';

export function agent(overrides: Partial<AgentSpec> = {}): AgentSpec {
  return testAgent({
    name: 'Ada',
    instructions: 'You help customers of Acme.',
    maxSteps: 5,
    turnTimeoutMs: 30_000,
    ...overrides,
  });
}

export const customer: Customer = {
  id: 'cus_1',
  name: 'Grace',
  identifiers: [{ type: 'phone', value: '+15550001111' }],
  createdAt: 0,
  updatedAt: 0,
};

export interface HarnessOptions {
  agent?: Partial<AgentSpec>;
  model: LanguageModelV3;
  functions?: Record<string, ToolFunction>;
  clock?: Clock;
  history?: Item[];
  context?: Record<string, unknown>;
  channel?: Channel;
  onEvent?: (event: EngineEvent, session: ConversationSession) => void;
}

export interface Harness {
  session: ConversationSession;
  events: EngineEvent[];
  clock: Clock;
  /** Event types in order, tool and item events with their detail. */
  types(): string[];
  ofType<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[];
}

export function harness(opts: HarnessOptions): Harness {
  const events: EngineEvent[] = [];
  const clock = opts.clock ?? new FakeClock();
  const session: ConversationSession = createSession({
    agent: agent(opts.agent),
    conversation: {
      id: CONVERSATION_ID,
      agent: 'support',
      channel: opts.channel ?? 'chat',
      mode: 'realtime',
      status: 'active',
      customerId: customer.id,
      context: opts.context ?? {},
      createdAt: 0,
      updatedAt: 0,
    },
    customer,
    history: opts.history ?? [],
    model: opts.model,
    functions: opts.functions ?? {},
    clock,
    emit: (event) => {
      events.push(event);
      opts.onEvent?.(event, session);
    },
  });
  return {
    session,
    events,
    clock,
    types: () => events.map(describe),
    ofType: <T extends EngineEvent['type']>(type: T) =>
      events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type),
  };
}

function describe(event: EngineEvent): string {
  if (event.type === 'item') return `item:${event.item.type}`;
  if (event.type === 'tool.started' || event.type === 'tool.finished') return `${event.type}:${event.name}`;
  return event.type;
}

export function userMessage(text: string): Item {
  return {
    id: newId('itm'),
    conversationId: CONVERSATION_ID,
    role: 'user',
    type: 'message',
    text,
    interrupted: false,
    createdAt: 0,
  };
}

export function webhookTool(name: string, url: string, overrides: Partial<WebhookToolSpec> = {}): WebhookToolSpec {
  return {
    kind: 'webhook',
    name,
    description: `The ${name} tool`,
    parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    examples: [],
    timeoutMs: 5000,
    url,
    method: 'POST',
    headers: {},
    ...overrides,
  };
}

export function functionTool(name: string, overrides: Partial<ToolSpec> = {}): ToolSpec {
  return {
    kind: 'function',
    name,
    description: `The ${name} tool`,
    parameters: { type: 'object' },
    examples: [],
    timeoutMs: 1000,
    ...overrides,
  } as ToolSpec;
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The text of every part of a role in a prompt, for assertions. */
export function promptText(prompt: LanguageModelV3Message[], role: LanguageModelV3Message['role']): string {
  return prompt
    .filter((m) => m.role === role)
    .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((p) => ('text' in p ? p.text : '')).join('')))
    .filter((text) => text !== '')
    .join('\n');
}

export interface Received {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
  /** Resolves when the client gives up on the request (aborts or closes the connection). */
  closed: Promise<void>;
}

export interface TestServer {
  url: string;
  received: Received[];
  /** Resolves with the next request that arrives (or has arrived unclaimed). */
  nextRequest(): Promise<Received>;
  close(): Promise<void>;
}

/** A local HTTP server on an ephemeral port; `respond` answers (or holds) each request. */
export async function startServer(respond: (req: Received, res: ServerResponse) => void): Promise<TestServer> {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  let claimed = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      const r: Received = { method: req.method ?? '', headers: req.headers, body, json: safeJson(body), closed };
      received.push(r);
      const waiter = waiters.shift();
      if (waiter) {
        claimed++;
        waiter(r);
      }
      respond(r, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/tool`,
    received,
    nextRequest: () => {
      const waiting = received[claimed];
      if (waiting) {
        claimed++;
        return Promise.resolve(waiting);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
