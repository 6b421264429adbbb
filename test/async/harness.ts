import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '../../src/server/main.ts';
import type { EmbeddedWorkQueue } from '../../src/store/queue/embedded.ts';
import type { FakeClock } from '../../src/testing/fake-clock.ts';
import { SmtpSink } from '../../src/testing/smtp-sink.ts';
import {
  TwilioSimulator,
  sendInboundSms,
  type InboundSmsInput,
  type InboundSmsResult,
  type TwilioSimulatorOptions,
} from '../../src/testing/twilio-simulator.ts';
import { api, waitFor, type Json } from '../helpers/api.ts';
import { startInProcess, tempDir, writeConfig } from '../helpers/server.ts';

/**
 * An in-process Operator wired to the doubles of the async channels: a TwilioSimulator as its
 * Twilio REST API (and the sender of signed webhooks), an optional SmtpSink as its outbound relay,
 * and an optional FakeClock. Tests talk to it only through its edges: signed webhooks, SMTP, HTTP.
 */

/** The number customers text (channels.sms) and the address they write to (channels.email). */
export const SUPPORT_NUMBER = '+15557654321';
export const SUPPORT_ADDRESS = 'support@acme.test';
/** What Twilio was told the server is at: signatures cover it, callbacks are re-routed to the real port. */
export const PUBLIC_URL = 'https://operator.example.test';

/** An item as GET /v1/conversations/{id} shows it (the fields these tests read). */
export interface ItemJson {
  id: string;
  role: string;
  type: string;
  text: string;
  interrupted: boolean;
  turnId?: string;
  toolName?: string;
  data?: { reply?: { to?: string; from?: string }; orderId?: string };
  attachments?: { url: string; contentType: string; name?: string; sizeBytes?: number }[];
  delivery?: { status: string; attempts: number; parts: number; lastError?: string };
  createdAt: string;
}

export interface ConversationJson {
  id: string;
  agent: string;
  channel: string;
  mode: string;
  status: string;
  endedReason?: string;
  customerId?: string;
  context: Record<string, unknown>;
  items: ItemJson[];
}

/** Tests poll the API every few milliseconds; the default rate limit (600/min per client) would answer 429. */
export const POLLING_LIMITS = { rateLimitPerMinute: 1_000_000 };

export interface AsyncServer {
  server: RunningServer;
  url: string;
  dir: string;
  sim: TwilioSimulator;
  sink: SmtpSink | undefined;
  clock: FakeClock | undefined;
  /** A correctly signed inbound SMS to `to` (default SUPPORT_NUMBER), as Twilio delivers it. */
  sms(from: string, body: string, extra?: Partial<InboundSmsInput>): Promise<InboundSmsResult>;
  conversation(id: string): Promise<ConversationJson>;
  /** The conversations (with items) of the customer with this phone number or email address, newest first. */
  conversationsOf(identity: { phone?: string; email?: string }): Promise<ConversationJson[]>;
  /** Resolves when the embedded queue has nothing in flight (then a fake clock may be advanced). */
  settled(): Promise<void>;
  /** Settles, moves the fake clock, and settles again (jobs that fell due have run). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface AsyncServerOptions {
  clock?: FakeClock;
  /** Start an SmtpSink and use it as SMTP_OUTBOUND_URL. */
  sink?: boolean;
  /** SMTP_OUTBOUND_URL of your own (e.g. a closed port). */
  smtpOutboundUrl?: string;
  simulator?: Omit<TwilioSimulatorOptions, 'callbackTarget'>;
  /** Reuse a simulator (restart tests); it is left open by close(). */
  sim?: TwilioSimulator;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
}

export async function startAsyncServer(config: object, opts: AsyncServerOptions = {}): Promise<AsyncServer> {
  let localUrl = '';
  const sim = opts.sim ?? (await TwilioSimulator.start({ ...opts.simulator, callbackTarget: (u) => u.replace(PUBLIC_URL, localUrl) }));
  const sink = opts.sink ? await SmtpSink.start() : undefined;
  const dir = opts.dataDir ?? tempDir('operator-async-');
  const outbound = opts.smtpOutboundUrl ?? sink?.url;
  const server = await startInProcess({
    configPath: writeConfig(dir, { limits: POLLING_LIMITS, ...config }),
    dataDir: dir,
    twilio: { accountSid: sim.accountSid, authToken: sim.authToken, apiUrl: sim.url },
    publicUrl: PUBLIC_URL,
    ...(outbound ? { smtpOutboundUrl: outbound } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  localUrl = server.url;
  const queue = server.conversations.deps.queue as EmbeddedWorkQueue;
  const settled = (): Promise<void> => (queue.kind === 'embedded' ? queue.settled() : Promise.resolve());
  return {
    server,
    url: server.url,
    dir,
    sim,
    sink,
    clock: opts.clock,
    sms: (from, body, extra = {}) =>
      sendInboundSms({
        serverUrl: server.url, publicUrl: PUBLIC_URL, authToken: sim.authToken, accountSid: sim.accountSid,
        from, to: SUPPORT_NUMBER, body, ...extra,
      }),
    conversation: (id) => getConversation(server.url, id),
    conversationsOf: async (identity) => {
      // By the reply address on the customer's items (GET /v1/customers is not served yet).
      const who = identity.phone ?? identity.email;
      const out: ConversationJson[] = [];
      let cursor: string | null = null;
      do {
        const page = (await api(server.url, `/v1/conversations?limit=100${cursor ? `&cursor=${cursor}` : ''}`)).body as { data: { id: string }[]; nextCursor: string | null };
        for (const c of page.data) {
          const full = await getConversation(server.url, c.id);
          if (full.items.some((i) => i.data?.reply?.to === who)) out.push(full);
        }
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    },
    settled,
    advance: async (ms) => {
      if (!opts.clock) throw new Error('advance() needs a server started with a FakeClock');
      await settled();
      opts.clock.advance(ms);
      await settled();
    },
    close: async () => {
      await server.close();
      if (!opts.sim) await sim.close();
      await sink?.close();
    },
  };
}

/** GET /v1/conversations/{id} of any server (in process or spawned). */
export async function getConversation(base: string, id: string): Promise<ConversationJson> {
  const res = await api(base, `/v1/conversations/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/conversations/${id} answered ${res.status}: ${res.text}`);
  return res.body as ConversationJson;
}

/** The one element of `list` (a test expecting exactly one conversation, item, …). */
export function one<T>(list: readonly T[], what = 'element'): T {
  if (list.length !== 1) throw new Error(`expected exactly one ${what}, got ${list.length}`);
  return list[0]!;
}

/** Agent messages of a conversation (GET /v1/conversations/{id}), oldest first. */
export function agentMessages(conv: ConversationJson): ItemJson[] {
  return conv.items.filter((i) => i.role === 'agent' && i.type === 'message');
}

export function userMessages(conv: ConversationJson): ItemJson[] {
  return conv.items.filter((i) => i.role === 'user' && i.type === 'message');
}

/** Waits until the conversation satisfies `check`, and returns it. */
export function waitForConversation(
  s: AsyncServer, id: string, check: (c: ConversationJson) => boolean, what: string, timeoutMs = 8000,
): Promise<ConversationJson> {
  return waitFor(async () => {
    const c = await s.conversation(id);
    return check(c) ? c : undefined;
  }, what, timeoutMs);
}

/** Polls while a fake clock stands still: queue work is real I/O, so real time must pass meanwhile. */
export async function settleUntil<T>(s: AsyncServer, check: () => Promise<T | undefined | false>, what: string, timeoutMs = 8000): Promise<T> {
  return waitFor(async () => {
    await s.settled();
    return check();
  }, what, timeoutMs);
}

export interface RawCall {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Json;
}

/** An HTTP receiver that keeps the raw body (for signature checks); `status()` picks the answer. */
export async function startRawWebhook(status: (call: RawCall) => number = () => 200): Promise<{
  url: string;
  calls: RawCall[];
  close(): Promise<void>;
}> {
  const calls: RawCall[] = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Json;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const call = { headers: req.headers, raw, body };
      calls.push(call);
      res.writeHead(status(call), { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/operator-events`,
    calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port nothing listens on (bound, read, released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Writes the config file for a spawned server (the same shape as startAsyncServer's). */
export function configFile(config: object): { dir: string; path: string } {
  const dir = tempDir('operator-async-');
  return { dir, path: writeConfig(dir, { limits: POLLING_LIMITS, ...config }) };
}
