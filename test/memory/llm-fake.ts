import { sendSse, startHttpFake, type HttpFake, type RecordedRequest } from '../models/fakes/http-fake.ts';

/**
 * An OpenAI-compatible Chat Completions server (streaming) that records every request — so tests
 * assert on the system prompt and tools the agent's model was given — and answers each from
 * `answer(request)`: text, one tool call, or `hang` (never answers: a turn still running).
 */
export type FakeAnswer = { text: string } | { toolCall: { name: string; args: Record<string, unknown> } } | 'hang';

export interface LlmFake extends HttpFake {
  /** The system prompt of each request, in order. */
  systemPrompts(): string[];
  /** Names of the tools offered in request `n`. */
  toolNames(n: number): string[];
}

interface Msg {
  role: string;
  content?: string | null;
}

export function lastUserText(req: RecordedRequest): string {
  const messages = req.body.messages as Msg[];
  return [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

export async function startLlmFake(answer: (req: RecordedRequest) => FakeAnswer): Promise<LlmFake> {
  let n = 0;
  const fake = await startHttpFake((req, res) => {
    const a = answer(req);
    if (a === 'hang') return;
    const base = { id: `chatcmpl-${++n}`, object: 'chat.completion.chunk', created: 1767225600, model: req.body.model };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
    });
    const events = [chunk({ role: 'assistant', content: '' })];
    if ('text' in a) events.push(chunk({ content: a.text }), chunk({}, 'stop'));
    else {
      const call = { index: 0, id: `call_${n}`, type: 'function', function: { name: a.toolCall.name, arguments: JSON.stringify(a.toolCall.args) } };
      events.push(chunk({ tool_calls: [call] }), chunk({}, 'tool_calls'));
    }
    sendSse(res, [...events, { data: '[DONE]' }]);
  });
  return {
    ...fake,
    systemPrompts: () => fake.requests.map((r) => (r.body.messages as Msg[])[0]?.content ?? ''),
    toolNames: (i) => ((fake.requests[i]?.body.tools ?? []) as { function: { name: string } }[]).map((t) => t.function.name),
  };
}
