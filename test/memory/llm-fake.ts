import { sendSse, startHttpFake, type HttpFake, type RecordedRequest } from '../models/fakes/http-fake.ts';

/**
 * An OpenAI-compatible Chat Completions server (streaming) that records every request — so tests
 * assert on the system prompt and tools the agent's model was given — and answers each from
 * `answer(request)`: text, one tool call, or `hang` (never answers: a turn still running).
 */
export type FakeAnswer = { text: string } | { toolCall: { name: string; args: Record<string, unknown> } } | 'hang';

export interface LlmFake extends HttpFake {
  /**
   * Requests for a conversation summary (runtime/memory/model-summary.ts), kept apart from
   * `requests` so tests that index the agent's turns are not shifted by them.
   */
  summaries: RecordedRequest[];
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

const SUMMARY_PROMPT = 'You summarise a customer-service conversation';

/** The summary the fake writes, from the transcript it was given. */
export type SummaryAnswer = (transcript: string) => { summary: string; openItems: string[] } | 'garbage';

export async function startLlmFake(
  answer: (req: RecordedRequest) => FakeAnswer,
  summarise: SummaryAnswer = (t) => ({ summary: `Model summary: ${t.split('\n')[0]?.slice(0, 80) ?? ''}`, openItems: [] }),
): Promise<LlmFake> {
  let n = 0;
  const summaries: RecordedRequest[] = [];
  const fake = await startHttpFake((req, res) => {
    const messages = req.body.messages as Msg[];
    if (typeof messages[0]?.content === 'string' && messages[0].content.startsWith(SUMMARY_PROMPT)) {
      fake.requests.splice(fake.requests.indexOf(req), 1);
      summaries.push(req);
      const written = summarise(lastUserText(req));
      const content = written === 'garbage' ? 'I cannot do that.' : JSON.stringify(written);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: `chatcmpl-${++n}`, object: 'chat.completion', created: 1767225600, model: req.body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      }));
      return;
    }
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
    summaries,
    systemPrompts: () => fake.requests.map((r) => (r.body.messages as Msg[])[0]?.content ?? ''),
    toolNames: (i) => ((fake.requests[i]?.body.tools ?? []) as { function: { name: string } }[]).map((t) => t.function.name),
  };
}
