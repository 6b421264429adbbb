import { sendJson, sendSse, startHttpFake, type HttpFake } from './http-fake.ts';

/**
 * A fake of OpenAI's Chat Completions API, streaming only (`POST …/chat/completions` with
 * `stream: true`): `data: {chat.completion.chunk}` events whose `choices[0].delta` carries
 * `content` or `tool_calls` (id and name in the first chunk of a call, `arguments` in pieces),
 * a last chunk with `finish_reason`, a usage chunk when `stream_options.include_usage`, then
 * `data: [DONE]`. https://platform.openai.com/docs/api-reference/chat-streaming
 */
export type ChatReply =
  | { text?: string[]; toolCalls?: { id: string; name: string; args: Record<string, unknown> }[] }
  | { status: number; error: { message: string; type: string; code?: string | null } };

export async function startOpenAIChatFake(replies: ChatReply[]): Promise<HttpFake> {
  let n = 0;
  return startHttpFake((req, res) => {
    const reply = replies[Math.min(n++, replies.length - 1)]!;
    if (req.method !== 'POST' || !req.path.endsWith('/chat/completions')) {
      sendJson(res, 404, { error: { message: `no route ${req.path}`, type: 'invalid_request_error' } });
      return;
    }
    if ('status' in reply) {
      sendJson(res, reply.status, { error: { code: null, param: null, ...reply.error } });
      return;
    }
    if (req.body.stream !== true) {
      sendJson(res, 400, { error: { message: 'this fake only streams: set stream: true', type: 'invalid_request_error', code: null } });
      return;
    }
    const base = { id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: 1767225600, model: req.body.model };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
    });
    const events: { data: unknown }[] = [chunk({ role: 'assistant', content: '' })];
    for (const piece of reply.text ?? []) events.push(chunk({ content: piece }));
    (reply.toolCalls ?? []).forEach((call, index) => {
      const args = JSON.stringify(call.args);
      const half = Math.floor(args.length / 2);
      events.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
      events.push(chunk({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }));
      events.push(chunk({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }));
    });
    events.push(chunk({}, reply.toolCalls?.length ? 'tool_calls' : 'stop'));
    const options = req.body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) {
      events.push({ data: { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } } });
    }
    sendSse(res, [...events, { data: '[DONE]' }]);
  });
}
