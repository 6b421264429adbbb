import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '../../src/server/main.ts';
import { RealtimeClient, type ServerMsg } from './realtime-client.ts';
import { startInProcess, tempDir, writeConfig, type InProcessOptions } from './server.ts';

/** A parsed JSON value that tests inspect with assertions (their shape is what they check). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** An answer of the HTTP API: status, parsed JSON body (or the raw text), headers. */
export interface ApiAnswer {
  status: number;
  body: Json;
  text: string;
  headers: Headers;
}

/** A real HTTP request to the server; the body is JSON unless it is already a string. */
export async function api(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const hasBody = init.body !== undefined;
  const res = await fetch(new URL(path, base), {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(hasBody ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, errors of other servers): keep the text
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** Polls `check` until it returns a value other than undefined/false (for state with no event to wait on). */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A scripted step: `text` streamed as one delta per word. */
export function words(text: string, extra: object = {}): object {
  return { deltas: text.match(/\S+\s*/g) ?? [], ...extra };
}

/** A started in-process server with its config written to a temp dir; `close()` stops it. */
export interface TestServer {
  server: RunningServer;
  url: string;
  dir: string;
  close(): Promise<void>;
}

export async function serve(
  config: object | string,
  opts: Omit<InProcessOptions, 'configPath'> & { fileName?: string } = {},
): Promise<TestServer> {
  const dir = tempDir();
  const configPath = writeConfig(dir, config, opts.fileName);
  const server = await startInProcess({ dataDir: dir, ...opts, configPath });
  return { server, url: server.url, dir, close: () => server.close() };
}

/** Connects, starts a text session and returns the client and `session.started`. */
export async function openSession(
  url: string,
  agent: string,
  extra: object = {},
  connect: { token?: string; headers?: Record<string, string> } = {},
): Promise<{ client: RealtimeClient; started: ServerMsg; conversationId: string }> {
  const client = await RealtimeClient.connect(url, connect);
  const started = await client.start(agent, extra);
  return { client, started, conversationId: started.conversationId as string };
}

/** Sends a message and waits for the `agent.done` of the turn that answers it (not an interrupted one). */
export async function ask(client: RealtimeClient, text: string): Promise<{ accepted: ServerMsg; done: ServerMsg }> {
  client.send({ type: 'user.message', text });
  const accepted = await client.next('user.accepted');
  for (;;) {
    const done = await client.next('agent.done');
    if (done.interrupted !== true) return { accepted, done };
  }
}

/** The deltas of one turn, joined. */
export function deltasOf(client: RealtimeClient, turnId: unknown): string {
  return client
    .all('agent.delta')
    .filter((m) => m.turnId === turnId)
    .map((m) => m.text as string)
    .join('');
}

export interface RecordedCall {
  path: string;
  headers: IncomingMessage['headers'];
  body: Json;
}

/** A tool webhook on an ephemeral 127.0.0.1 port: records each call and answers with `answer(body)`. */
export async function startWebhook(
  answer: (body: Json, res: ServerResponse) => unknown = () => ({ ok: true }),
  /* An answer that is a promise is awaited (one that never settles makes the tool hang). */
): Promise<{ url: string; calls: RecordedCall[]; close(): Promise<void> }> {
  const calls: RecordedCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
      calls.push({ path: req.url ?? '', headers: req.headers, body });
      void Promise.resolve(answer(body, res)).then((out) => {
        if (res.headersSent || res.writableEnded) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tool`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Pool settings that keep test servers light. */
export const SMALL_POOL = { size: 2, maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 };
