import { createInterface } from 'node:readline';
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';

interface ServerMessage {
  type: string;
  text?: string;
  code?: string;
  message?: string;
  reason?: string;
  name?: string;
  interrupted?: boolean;
  conversationId?: string;
}

function socketUrl(base: string, token: string | undefined): string {
  const u = new URL('/v1/realtime', base.replace(/^http/, 'ws'));
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

function parseContext(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new UsageError('--context must be a JSON object, e.g. --context \'{"orderId":"A12345"}\'');
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'Chat with an agent in the terminal over the realtime socket',
  usage: 'operator chat <agent> [--url URL] [--token KEY] [--context JSON] [--phone P] [--email E]',
  help: `
Streams the agent's answer as it comes. Typing while the agent answers interrupts it.
Ctrl-C (or /quit) ends the conversation; "goodbye" lets the agent end it.

Options:
  -u, --url URL          Server base URL [OPERATOR_URL, default http://127.0.0.1:$PORT or :8080]
  -t, --token KEY        API key, when the server has OPERATOR_API_KEYS [OPERATOR_API_KEY]
      --context JSON     Context for the conversation, e.g. '{"orderId":"A12345"}'
      --phone P          Customer phone number (identifies the customer)
      --email E          Customer email address
      --external-id ID   Customer id in your own system`,
  options: {
    url: { type: 'string', short: 'u' },
    token: { type: 'string', short: 't' },
    context: { type: 'string' },
    phone: { type: 'string' },
    email: { type: 'string' },
    'external-id': { type: 'string' },
  },
  allowPositionals: true,
  run(values, positionals) {
    const agent = positionals[0];
    if (!agent || positionals.length > 1) throw new UsageError(`Name one agent.\nUsage: ${chatCommand.usage}`);
    const base = (values.url as string | undefined) ?? process.env.OPERATOR_URL ?? `http://127.0.0.1:${process.env.PORT ?? '8080'}`;
    const token = (values.token as string | undefined) ?? process.env.OPERATOR_API_KEY;
    const customer = {
      ...(values.phone ? { phone: values.phone as string } : {}),
      ...(values.email ? { email: values.email as string } : {}),
      ...(values['external-id'] ? { externalId: values['external-id'] as string } : {}),
    };
    const context = parseContext(values.context as string | undefined);
    return runChat({ url: socketUrl(base, token), agent, customer, context });
  },
};

function runChat(opts: { url: string; agent: string; customer: Record<string, string>; context?: Record<string, unknown> }): Promise<number> {
  return new Promise((resolve) => {
    const out = process.stdout;
    const ws = new WebSocket(opts.url);
    const rl = createInterface({ input: process.stdin, output: out, prompt: 'you> ' });
    let answering = false;
    let exitCode = 0;
    // Lines typed (or piped) before the session has started wait for it instead of being lost.
    let started = false;
    const waiting: string[] = [];
    const say = (text: string): void => {
      if (started) send({ type: 'user.message', text });
      else waiting.push(text);
    };
    const send = (m: object): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };
    const end = (): void => {
      if (ws.readyState === WebSocket.OPEN) send({ type: 'session.end' });
      else ws.close();
    };
    ws.addEventListener('open', () => {
      send({
        type: 'session.start',
        agent: opts.agent,
        mode: 'text',
        ...(Object.keys(opts.customer).length ? { customer: opts.customer } : {}),
        ...(opts.context ? { context: opts.context } : {}),
      });
    });
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as ServerMessage;
      switch (m.type) {
        case 'session.started':
          started = true;
          for (const text of waiting.splice(0)) send({ type: 'user.message', text });
          out.write(`Connected to ${opts.agent} (conversation ${m.conversationId}). Ctrl-C to end.\n`);
          break;
        case 'agent.delta':
          if (!answering) out.write('\nagent> ');
          answering = true;
          out.write(m.text ?? '');
          break;
        case 'agent.done':
          out.write(m.interrupted ? ' [interrupted]\n' : '\n');
          answering = false;
          rl.prompt();
          break;
        case 'tool.started':
          out.write(`\n  [calling ${m.name}…]`);
          break;
        case 'error':
          out.write(`\n[error ${m.code}] ${m.message}\n`);
          rl.prompt();
          break;
        case 'session.ended':
          out.write(`\n[conversation ended: ${m.reason}]\n`);
          if (m.reason === 'error') exitCode = 1;
          break;
      }
    });
    ws.addEventListener('error', () => {
      out.write(`Could not connect to ${opts.url.replace(/token=[^&]+/, 'token=***')}. Is the server running (npm start)?\n`);
      exitCode = 1;
    });
    ws.addEventListener('close', () => {
      rl.close();
      resolve(exitCode);
    });
    rl.on('line', (line) => {
      const text = line.trim();
      if (text === '/quit' || text === '/exit') return end();
      if (text) say(text);
      else rl.prompt();
    });
    rl.on('SIGINT', end);
    rl.on('close', end);
  });
}
