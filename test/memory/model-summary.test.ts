import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSummary } from '../../src/runtime/memory/model-summary.ts';
import { SMALL_POOL, api, ask, openSession, waitFor } from '../helpers/api.ts';
import { startAsyncServer, type AsyncServer } from '../async/harness.ts';
import { lastUserText, startLlmFake, type LlmFake } from './llm-fake.ts';

/**
 * Summaries written by the agent's own model (issue 5): an OpenAI-compatible fake answers the
 * summary request with JSON; the next conversation's prompt carries the model's words, and what
 * only the platform knows (the line dropped) stays an open item.
 */
let llm: LlmFake;
let s: AsyncServer;

beforeAll(async () => {
  llm = await startLlmFake(
    (req) => (lastUserText(req).includes('HANG') ? 'hang' : { text: 'Noted.' }),
    (transcript) => ({
      summary: `The customer asked about a refund (${transcript.includes('kettle') ? 'kettle KX-200' : 'unknown item'}); refund approved.`,
      openItems: ['Email the return label'],
    }),
  );
  const model = { provider: 'openai-compatible', model: 'local', baseUrl: `${llm.origin}/v1`, apiKey: 'sk-test' };
  s = await startAsyncServer({ pool: SMALL_POOL, agents: { support: { instructions: 'You help Acme customers.', model } } });
}, 60_000);

afterAll(async () => {
  await s?.close();
  await llm?.close();
});

async function chat(phone: string, text: string): Promise<string> {
  const before = llm.requests.length;
  const { client } = await openSession(s.url, 'support', { customer: { phone } });
  await ask(client, text);
  client.send({ type: 'session.end' });
  await client.next('session.ended');
  client.close();
  return llm.systemPrompts()[before]!;
}

/** The line drops while the agent is thinking. */
async function dropped(phone: string, text: string): Promise<void> {
  const before = llm.requests.length;
  const { client } = await openSession(s.url, 'support', { customer: { phone } });
  client.send({ type: 'user.message', text });
  await client.next('user.accepted');
  await waitFor(() => llm.requests.length > before, 'the model call');
  client.ws.terminate();
}

describe('summaries by the agent model', () => {
  it('the next conversation is given the model summary and its open items', async () => {
    const phone = '+15551239001';
    await chat(phone, 'My kettle KX-200 leaks, I want a refund');
    await waitFor(() => llm.summaries.length >= 1, 'the summary request');
    const summaryRequest = llm.summaries[0]!.body.messages as { role: string; content: string }[];
    expect(summaryRequest.at(-1)!.content).toContain('customer: My kettle KX-200 leaks, I want a refund');
    const prompt = await waitFor(async () => {
      const p = await chat(phone, 'Hello again');
      return p.includes('refund approved') ? p : undefined;
    }, 'the model summary in the next prompt');
    expect(prompt).toContain('The customer asked about a refund (kettle KX-200); refund approved.');
    expect(prompt).toContain('Email the return label');
  });

  it('a dropped conversation keeps the cut-off fact next to the model summary', async () => {
    const phone = '+15551239002';
    await dropped(phone, 'About my kettle KX-200 HANG');
    const conversations = await waitFor(async () => {
      const found = await api(s.url, `/v1/customers?phone=${encodeURIComponent(phone)}`);
      const id = found.body.data[0]?.id as string | undefined;
      return id ? ((await api(s.url, `/v1/customers/${id}`)).body.conversations as unknown[]) : undefined;
    }, 'the customer');
    expect(conversations).toHaveLength(1);
    const prompt = await waitFor(async () => {
      const p = await chat(phone, 'Hi');
      return p.includes('refund approved') ? p : undefined;
    }, 'the model summary');
    expect(prompt).toContain('The conversation was cut off (client_disconnect)');
  });

  it('parses only well-formed answers', () => {
    expect(parseSummary('Sure! {"summary": "Asked X.", "openItems": ["Call back", 3]}')).toEqual({ text: 'Asked X.', openItems: ['Call back'] });
    expect(parseSummary('no json here')).toBeUndefined();
    expect(parseSummary('{"summary": ""}')).toBeUndefined();
    expect(parseSummary('{"summary": "x", "openItems": "nope"}')).toEqual({ text: 'x', openItems: [] });
  });
});
