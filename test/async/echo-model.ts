import { sendJson, sendSse, startHttpFake, type HttpFake } from '../models/fakes/http-fake.ts';

/**
 * A model vendor at the network boundary (OpenAI Chat Completions, streaming) that answers every
 * turn with the order numbers (A12345) of the customer texts it was asked to answer: those after
 * the last assistant message of the prompt. Configure an agent with
 * `{ provider: 'openai-compatible', model: 'echo', baseUrl: fake.baseUrl }`; `fake.prompts` keeps every
 * prompt, so a test sees exactly what each turn was given, from any process.
 */

export interface EchoPrompt {
  /** The prompt as role: text lines, system message left out. */
  lines: string[];
  /** Order numbers of the texts after the last assistant message (what this turn answers). */
  answered: string[];
}

export interface EchoModel {
  baseUrl: string;
  prompts: EchoPrompt[];
  close(): Promise<void>;
}

interface ChatMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
}

const ORDER = /[A-Z]\d{5}/g;

function textOf(m: ChatMessage): string {
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).map((p) => p.text ?? '').join('\n');
}

/** `delayMs`: how long each answer takes (real time: the model is another service). */
export async function startEchoModel(opts: { delayMs?: number } = {}): Promise<EchoModel> {
  const prompts: EchoPrompt[] = [];
  let n = 0;
  const fake: HttpFake = await startHttpFake((req, res) => {
    if (req.method !== 'POST' || !req.path.endsWith('/chat/completions')) {
      sendJson(res, 404, { error: { message: `no route ${req.path}`, type: 'invalid_request_error' } });
      return;
    }
    const messages = (req.body.messages ?? []) as ChatMessage[];
    const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant');
    const answered = messages.slice(lastAssistant + 1).filter((m) => m.role === 'user').flatMap((m) => textOf(m).match(ORDER) ?? []);
    prompts.push({ lines: messages.filter((m) => m.role !== 'system').map((m) => `${m.role}: ${textOf(m)}`), answered });
    const base = { id: `chatcmpl-${++n}`, object: 'chat.completion.chunk', created: 1767225600, model: req.body.model };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
    });
    const text = answered.length ? `Answered ${answered.join(' ')}.` : 'Nothing to answer.';
    const answer = () => sendSse(res, [chunk({ role: 'assistant', content: '' }), chunk({ content: text }), chunk({}, 'stop'), { data: '[DONE]' }]);
    if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  });
  return { baseUrl: `${fake.origin}/v1`, prompts, close: () => fake.close() };
}

/** The agent `model:` block for an echo model. */
export function echoModelConfig(model: EchoModel): object {
  return { provider: 'openai-compatible', model: 'echo', baseUrl: model.baseUrl, apiKey: 'test' };
}
