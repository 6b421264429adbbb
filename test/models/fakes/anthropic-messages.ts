import { sendJson, sendSse, startHttpFake, type HttpFake } from './http-fake.ts';

/**
 * A fake of Anthropic's Messages API, streaming only (`POST …/v1/messages` with `stream: true`):
 * `message_start`, per content block `content_block_start` / `content_block_delta` (`text_delta`
 * or `input_json_delta`) / `content_block_stop`, a `ping`, `message_delta` with the stop reason
 * and usage, `message_stop`. Errors are `{type: "error", error: {type, message}}`, as an HTTP
 * body or as an `error` event in the stream.
 * https://docs.anthropic.com/en/api/messages-streaming
 */
export type MessagesReply =
  | {
      text?: string[];
      toolUses?: { id: string; name: string; input: Record<string, unknown> }[];
      /** Sent as an `error` event after the text, ending the stream (as Anthropic does when overloaded mid-stream). */
      streamError?: { type: string; message: string };
    }
  | { status: number; error: { type: string; message: string } };

export async function startAnthropicFake(replies: MessagesReply[]): Promise<HttpFake> {
  let n = 0;
  return startHttpFake((req, res) => {
    const reply = replies[Math.min(n++, replies.length - 1)]!;
    if (req.method !== 'POST' || !req.path.endsWith('/messages')) {
      sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `no route ${req.path}` } });
      return;
    }
    if ('status' in reply) {
      sendJson(res, reply.status, { type: 'error', error: reply.error });
      return;
    }
    if (req.body.stream !== true) {
      sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'this fake only streams: set stream: true' } });
      return;
    }
    const ev = (event: string, data: Record<string, unknown>) => ({ event, data: { type: event, ...data } });
    const events = [
      ev('message_start', {
        message: {
          id: `msg_${n}`, type: 'message', role: 'assistant', model: req.body.model, content: [],
          stop_reason: null, stop_sequence: null, usage: { input_tokens: 21, output_tokens: 1 },
        },
      }),
      ev('ping', {}),
    ];
    let index = 0;
    if (reply.text?.length) {
      events.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const piece of reply.text) events.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
      events.push(ev('content_block_stop', { index }));
      index++;
    }
    if (reply.streamError) {
      sendSse(res, [...events, ev('error', { error: reply.streamError })]);
      return;
    }
    for (const use of reply.toolUses ?? []) {
      const json = JSON.stringify(use.input);
      const half = Math.floor(json.length / 2);
      events.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: use.id, name: use.name, input: {} } }));
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } }));
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } }));
      events.push(ev('content_block_stop', { index }));
      index++;
    }
    const stopReason = reply.toolUses?.length ? 'tool_use' : 'end_turn';
    events.push(ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 9 } }));
    events.push(ev('message_stop', {}));
    sendSse(res, events);
  });
}
