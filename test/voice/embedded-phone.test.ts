import { afterEach, describe, expect, it } from 'vitest';
import type { CallOptions } from '../../src/cli/call/options.ts';
import { runCall } from '../../src/cli/call/session.ts';
import { findBinary } from '../../src/voice/engines-status.ts';
import { missingModelFiles, resolveModel } from '../../src/voice/stt/pocketsphinx-native.ts';
import { api, serve, startWebhook, type TestServer } from '../helpers/api.ts';
import { AGENT_NUMBER, callOptions, type StoredItem } from '../helpers/call.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * The issue's "done when", on the phone: the example agent (offline model, its order tool, a
 * billing transfer target) with the default engines — Silero VAD, pocketsphinx with the agent's
 * domain model and the phone-band transform, espeak-ng — called over Twilio's wire protocol by
 * `operator call`'s simulator, whose caller speaks with espeak-ng through 8 kHz μ-law in real
 * time. One inbound and one outbound call each hold a spoken conversation with a tool call, a
 * barge-in, keys collected by `collect_digits` and a transfer; the assertions read the stored
 * conversation. The recognition is not exact (the stored words are what the server heard), so
 * the lines are ones the embedded recogniser gets right enough for the offline model.
 */
const skipped =
  findBinary('espeak-ng') === undefined || missingModelFiles(resolveModel()).length > 0 ? 'espeak-ng or pocketsphinx-en-us is not installed' : undefined;

const SID = `AC${'ef'.repeat(16)}`;
const TOKEN = 'embedded-phone-test-token';
/** The server's OPERATOR_PUBLIC_URL, which Twilio signs over; the simulator reaches it at its local address. */
const PUBLIC_URL = 'https://operator.example.test';

/** operator.config.yaml's support agent, its tool webhook at `toolUrl`. */
function exampleConfig(toolUrl: string): object {
  return {
    pool: { size: 1 },
    channels: { voice: [{ number: AGENT_NUMBER, agent: 'support' }] },
    agents: {
      support: {
        name: 'Acme Support',
        description: 'Answers questions about Acme orders and looks up their status.',
        greeting: "Hi, this is Acme support. {{memory.recap}}I can look up an order for you — what's your order number?",
        instructions: 'You are the customer-service agent of Acme, an online shop.',
        voice: { transfer: { billing: { to: '+15550100200', description: 'billing questions and refunds' } }, silence: { reprompt: '20s', hangup: '60s' } },
        tools: [
          {
            name: 'order_status',
            description: 'Look up the shipping status and delivery date of an order by its order number.',
            examples: ['where is my order A12345', "what's the status of order A10001", 'has my package shipped yet', 'track my order'],
            parameters: {
              type: 'object',
              properties: { orderId: { type: 'string', description: 'The order number, a letter followed by five digits (e.g. A12345).', pattern: '^[A-Z][0-9]{5}$' } },
              required: ['orderId'],
            },
            webhook: { url: toolUrl },
          },
        ],
      },
    },
  };
}

/** What a call printed on stderr (the simulator's warnings and failures), for the assertion message. */
function terminal(): { out(t: string): void; err(t: string): void; errors: string[] } {
  const errors: string[] = [];
  return { out: () => undefined, err: (t) => errors.push(t), errors };
}

let srv: TestServer | undefined;
let tool: Awaited<ReturnType<typeof startWebhook>> | undefined;
afterEach(async () => {
  await srv?.close();
  await tool?.close();
  srv = undefined;
  tool = undefined;
});

async function converse(extra: Partial<CallOptions>, lines: string[]): Promise<{ items: StoredItem[]; endedReason: string }> {
  const port = await freePort();
  tool = await startWebhook(() => ({ status: 'shipped', deliveryDate: '2026-12-03' }));
  srv = await serve(exampleConfig(tool.url), { twilio: { accountSid: SID, authToken: TOKEN, apiUrl: `http://127.0.0.1:${port}` }, publicUrl: PUBLIC_URL });
  const term = terminal();
  const code = await runCall(callOptions(srv.url, port, { accountSid: SID, authToken: TOKEN, publicUrl: PUBLIC_URL }, { from: '+15550104444', voice: 'espeak', answerTimeoutMs: 15_000, ...extra }), lines, term);
  expect(code).toBe(0);
  const phone = encodeURIComponent(extra.from ?? '+15550104444');
  const customers = (await api(srv.url, `/v1/customers?phone=${phone}`)).body.data as { id: string }[];
  const list = (await api(srv.url, `/v1/conversations?customerId=${customers[0]!.id}`)).body.data as { id: string }[];
  const conv = (await api(srv.url, `/v1/conversations/${list[0]!.id}`)).body as { items: StoredItem[]; endedReason: string };
  if (process.env.VOICE_DEBUG) console.log(term.errors, conv.endedReason, conv.items.map((i) => `${i.role} ${i.type} ${i.toolName ?? ''} ${i.interrupted ? '[cut] ' : ''}${i.text}`).join('\n'));
  return conv;
}

function expectDoneWhen(items: StoredItem[], endedReason: string, digits: string): void {
  const tools = items.filter((i) => i.type === 'tool_call').map((i) => i.toolName);
  expect(tools).toEqual(['order_status', 'collect_digits', 'transfer_call']);
  const lookup = items.find((i) => i.type === 'tool_call' && i.toolName === 'order_status')!;
  expect(JSON.stringify(lookup.data)).toContain('A12345');
  expect(items.some((i) => i.role === 'agent' && i.type === 'message' && i.interrupted)).toBe(true);
  expect(items.filter((i) => i.type === 'dtmf').map((i) => i.text).join('')).toBe(digits);
  expect(items.some((i) => i.role === 'agent' && i.text.includes(`I got ${digits.slice(0, -1).split('').join(' ')}`))).toBe(true);
  expect(endedReason).toBe('transferred');
}

describe.skipIf(skipped !== undefined)(`the example agent on the phone with the embedded engines${skipped ? ` (skipped: ${skipped})` : ''}`, () => {
  it('inbound: an order looked up, a barge-in cut, keys collected, a transfer', { timeout: 120_000 }, async () => {
    const { items, endedReason } = await converse({}, [
      'where is my order a one two three four five',
      '/over 1.5s wait, stop please',
      'I will type in my account number',
      '#1234#',
      'transfer me to billing',
    ]);
    expectDoneWhen(items, endedReason, '1234#');
  });

  it('outbound: the agent calls, and the same holds', { timeout: 120_000 }, async () => {
    const { items, endedReason } = await converse({ outbound: true, from: '+15550105555' }, [
      'where is my order a one two three four five',
      '/over 1.5s hold on',
      'let me enter my account number',
      '#9876#',
      'transfer me to billing please',
    ]);
    expectDoneWhen(items, endedReason, '9876#');
  });
});
