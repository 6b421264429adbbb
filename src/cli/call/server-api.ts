import { errorMessage } from '../../core/errors.ts';

/**
 * The few calls `operator call` makes to the Operator HTTP API (API.md): the agent list (which
 * also shows the server is there and takes our key), `POST /v1/calls`, finding the conversation
 * of an inbound call through its caller, and the stored conversation at the end.
 */
export interface StoredItem {
  role: string;
  type: string;
  text: string;
  interrupted?: boolean;
  toolName?: string;
  metrics?: Record<string, number>;
}

export interface StoredConversation {
  id: string;
  agent: string;
  status: string;
  endedReason?: string;
  items?: StoredItem[];
}

/** A failure to show as it is, ending the command with exit code 1. */
export class CallFailure extends Error {}

interface Answer {
  status: number;
  body: unknown;
}

export class OperatorApi {
  readonly base: string;
  private readonly token: string | undefined;

  constructor(base: string, token?: string) {
    this.base = base.replace(/\/+$/, '');
    this.token = token;
  }

  /** The configured agents' ids; throws `CallFailure` when the server is unreachable or refuses. */
  async agents(): Promise<string[]> {
    const body = (await this.ok('GET', '/v1/agents')) as { data?: { id: string }[] };
    return (body.data ?? []).map((a) => a.id);
  }

  async placeCall(body: { agent: string; to: string; from?: string }): Promise<{ conversationId: string; callSid: string }> {
    return (await this.ok('POST', '/v1/calls', body)) as { conversationId: string; callSid: string };
  }

  /** The newest active voice conversation of the customer with this phone number, if any yet. */
  async activeVoiceConversation(phone: string): Promise<string | undefined> {
    const found = (await this.ok('GET', `/v1/customers?phone=${encodeURIComponent(phone)}`)) as { data?: { id: string }[] };
    const customer = found.data?.[0];
    if (!customer) return undefined;
    const detail = (await this.ok('GET', `/v1/customers/${encodeURIComponent(customer.id)}`)) as { conversations?: (StoredConversation & { channel: string })[] };
    return detail.conversations?.find((c) => c.channel === 'voice' && c.status !== 'ended')?.id;
  }

  conversation(id: string): Promise<StoredConversation> {
    return this.ok('GET', `/v1/conversations/${encodeURIComponent(id)}`) as Promise<StoredConversation>;
  }

  private async ok(method: string, path: string, body?: unknown): Promise<unknown> {
    const answer = await this.request(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw new CallFailure(this.refusal(method, path, answer));
  }

  private async request(method: string, path: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      throw new CallFailure(`Could not reach the server at ${this.base} (${errorMessage(cause)}). Is it running (npm start)? Point --server at it.`);
    }
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      return { status: res.status, body: text };
    }
  }

  private refusal(method: string, path: string, answer: Answer): string {
    const error = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const said = error ? `${error.code}: ${error.message}` : String(answer.body).slice(0, 200);
    const keyProblem = error?.code === 'unauthorized' || error?.code === 'invalid_api_key';
    const hint = keyProblem ? ' — the server wants an API key: pass --token or set OPERATOR_API_KEY' : '';
    return `The server answered ${method} ${path.split('?')[0]} with ${answer.status} (${said})${hint}`;
  }
}

/** Polls `find` every 100 ms until it yields a value or `timeoutMs` passes. */
export async function poll<T>(find: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}
