import type { WebhookToolSpec } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import { deadline } from '../abort.ts';
import type { ToolContext } from '../types.ts';
import { type ToolOutcome, failure, success } from './outcome.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHeader } from './signature.ts';

/** Larger answers are refused: they would not fit a prompt anyway (DESIGN.md rule 8). */
export const MAX_WEBHOOK_RESPONSE_BYTES = 1 << 20;

/** The JSON body a webhook tool receives. */
export interface WebhookRequestBody {
  tool: string;
  arguments: Record<string, unknown>;
  conversationId: string;
  turnId: string;
  callId: string;
  agent: string;
  channel: ToolContext['channel'];
  context: Record<string, unknown>;
  customer: ToolContext['customer'] | null;
}

/**
 * Calls a webhook tool. Every failure (timeout, refused connection, non-2xx, non-JSON) becomes an
 * outcome the model can read; nothing throws. The timeout runs on the injected clock.
 */
export async function callWebhook(
  spec: WebhookToolSpec,
  args: Record<string, unknown>,
  ctx: ToolContext,
  clock: Clock,
): Promise<ToolOutcome> {
  const body = JSON.stringify(requestBody(spec, args, ctx));
  const timeout = deadline(clock, spec.timeoutMs);
  try {
    const response = await fetch(spec.url, {
      method: spec.method,
      headers: requestHeaders(spec, body, clock),
      body,
      signal: AbortSignal.any([ctx.signal, timeout.signal]),
    });
    return await readAnswer(response);
  } catch (err) {
    if (timeout.signal.aborted) return failure('tool_timeout', `${spec.name} did not answer within ${spec.timeoutMs} ms`);
    if (ctx.signal.aborted) return failure('cancelled', 'the turn was interrupted');
    return failure('tool_unreachable', `${spec.name} could not be reached: ${networkCause(err)}`);
  } finally {
    timeout.cancel();
  }
}

function requestBody(spec: WebhookToolSpec, args: Record<string, unknown>, ctx: ToolContext): WebhookRequestBody {
  return {
    tool: spec.name,
    arguments: args,
    conversationId: ctx.conversationId,
    turnId: ctx.turnId,
    callId: ctx.callId,
    agent: ctx.agentId,
    channel: ctx.channel,
    context: ctx.context,
    customer: ctx.customer ?? null,
  };
}

function requestHeaders(spec: WebhookToolSpec, body: string, clock: Clock): Headers {
  const headers = new Headers(spec.headers);
  const seconds = Math.floor(clock.now() / 1000);
  headers.set('Content-Type', 'application/json');
  headers.set('Accept', 'application/json');
  headers.set(TIMESTAMP_HEADER, String(seconds));
  if (spec.secret) headers.set(SIGNATURE_HEADER, signatureHeader(spec.secret, seconds, body));
  return headers;
}

async function readAnswer(response: Response): Promise<ToolOutcome> {
  if (!response.ok) {
    await response.body?.cancel();
    return failure('tool_http_error', `the tool answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  if (response.status === 204) return success(null);
  const text = await readLimited(response);
  if (text === undefined) return failure('tool_bad_response', `the tool's answer is larger than ${MAX_WEBHOOK_RESPONSE_BYTES} bytes`);
  try {
    return success(JSON.parse(text) as unknown);
  } catch {
    return failure('tool_bad_response', 'the tool answered with something that is not JSON');
  }
}

/** The body as text, or undefined when it is larger than the limit. */
async function readLimited(response: Response): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_WEBHOOK_RESPONSE_BYTES) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_WEBHOOK_RESPONSE_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch reports network failures as `TypeError: fetch failed` with the system error as cause. */
function networkCause(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return errorMessage(err);
}
