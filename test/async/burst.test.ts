import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import { scheduleTurn } from '../../src/runtime/async/inbound.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { SMALL_POOL, waitFor } from '../helpers/api.ts';
import { echoModelConfig, startEchoModel, type EchoModel } from './echo-model.ts';
import {
  SUPPORT_NUMBER, agentMessages, startAsyncServer, userMessages, waitForConversation, type AsyncServer, type ConversationJson,
} from './harness.ts';

/**
 * Bursts of SMS (DESIGN.md rule 5): texts that arrive while a turn runs, or within the debounce
 * window, are answered together in one turn, not one by one. The debounce runs on a FakeClock;
 * the slow model's delays are real (it runs in a worker thread).
 */

const DEBOUNCED = SUPPORT_NUMBER; // debounce 300ms
const IMMEDIATE = '+15557650002'; // debounce 0
const ECHO = '+15557650004'; // debounce 0, a model that says which texts it answers
// About a second per turn: long enough for a burst to land while it runs.
const SLOW = { deltas: ['One ', 'answer ', 'per ', 'turn.'], delayMs: 250 };

let s: AsyncServer;
let echo: EchoModel;
const clock = new FakeClock(Date.now());

beforeAll(async () => {
  echo = await startEchoModel({ delayMs: 800 });
  s = await startAsyncServer(
    {
      pool: SMALL_POOL,
      channels: { sms: [{ number: DEBOUNCED, agent: 'debounced' }, { number: IMMEDIATE, agent: 'immediate' }, { number: ECHO, agent: 'echo' }] },
      agents: {
        debounced: { instructions: 'x', async: { debounce: { sms: '300ms' } }, model: { provider: 'scripted', loop: true, steps: [SLOW] } },
        immediate: { instructions: 'x', async: { debounce: { sms: '0s' } }, model: { provider: 'scripted', loop: true, steps: [SLOW] } },
        echo: { instructions: 'x', async: { debounce: { sms: '0s' } }, model: echoModelConfig(echo) },
      },
    },
    { clock },
  );
});
afterAll(async () => {
  await s?.close();
  await echo?.close();
});

async function onlyConversation(phone: string): Promise<ConversationJson> {
  const list = await s.conversationsOf({ phone });
  expect(list).toHaveLength(1);
  return list[0]!;
}

/** Sends texts all at once (concurrent webhooks, as Twilio delivers a burst). */
async function burst(phone: string, texts: string[], to: string): Promise<void> {
  const answers = await Promise.all(texts.map((t) => s.sms(phone, t, { to })));
  expect(answers.map((a) => a.status)).toEqual(texts.map(() => 200));
}

/** The item kinds in order, e.g. "U U A" (user message, agent message). */
function shape(conv: ConversationJson): string {
  return conv.items.filter((i) => i.type === 'message').map((i) => (i.role === 'user' ? 'U' : 'A')).join(' ');
}

describe('a burst of texts', () => {
  it('texts arriving while a turn runs are answered together in the next turn', async () => {
    const phone = '+15550007001';
    await burst(phone, ['first'], IMMEDIATE);
    const { id } = await onlyConversation(phone);
    await waitForConversation(s, id, (c) => c.status === 'active', 'the first turn to start');

    const texts = ['second', 'third', 'fourth', 'fifth'];
    await burst(phone, texts, IMMEDIATE);
    // The burst is stored while the first turn still runs (else this test proves nothing).
    const during = await s.conversation(id);
    expect(during.status).toBe('active');
    expect(agentMessages(during)).toHaveLength(0);

    const done = await waitForConversation(s, id, (c) => agentMessages(c).length === 2 && c.status === 'suspended', 'the second turn', 10_000);
    await s.advance(10_000);
    const after = await s.conversation(id);
    expect(agentMessages(after)).toHaveLength(2);
    // One answer to "first" (committed after the burst was stored), one to the whole burst.
    expect(shape(after)).toBe('U U U U U A A');
    expect(userMessages(after).map((i) => i.text)).toEqual(['first', ...texts]);
    expect(agentMessages(after).map((i) => i.turnId)).toEqual([expect.any(String), expect.any(String)]);
    expect(new Set(agentMessages(after).map((i) => i.turnId)).size).toBe(2);
    expect(s.sim.messages.filter((m) => m.to === phone)).toHaveLength(2);
    expect(after.items.map((i) => i.id)).toEqual(done.items.map((i) => i.id));
  });

  it('texts within the debounce window are answered by one turn, after the window', async () => {
    const phone = '+15550007002';
    const texts = ['hi', 'my order', 'is late'];
    await burst(phone, texts, DEBOUNCED);
    await s.settled();
    // Nothing answered while the window is open.
    const { id } = await onlyConversation(phone);
    expect((await s.conversation(id)).status).toBe('suspended');
    expect(s.sim.messages.filter((m) => m.to === phone)).toEqual([]);

    await s.settled();
    clock.advance(300);
    await waitFor(() => s.sim.messages.some((m) => m.to === phone), 'the reply after the debounce window', 10_000);
    await waitForConversation(s, id, (c) => c.status === 'suspended' && agentMessages(c).length === 1, 'the turn to end');
    await s.advance(10_000);
    const conv = await s.conversation(id);
    expect(shape(conv)).toBe('U U U A');
    expect(s.sim.messages.filter((m) => m.to === phone)).toHaveLength(1);
  });

  it('a text that arrives during the window restarts it', async () => {
    const phone = '+15550007003';
    await burst(phone, ['one'], DEBOUNCED);
    await s.settled();
    clock.advance(200);
    await burst(phone, ['two'], DEBOUNCED);
    await s.advance(200); // 400 ms after "one", 200 ms after "two": still waiting
    expect(s.sim.messages.filter((m) => m.to === phone)).toEqual([]);
    clock.advance(100);
    await waitFor(() => s.sim.messages.some((m) => m.to === phone), 'the reply', 10_000);
    const { id } = await onlyConversation(phone);
    await waitForConversation(s, id, (c) => c.status === 'suspended' && agentMessages(c).length === 1, 'the turn to end');
    expect(shape(await s.conversation(id))).toBe('U U A');
  });

  it('the next turn is given the previous answer, even though the burst was stored before it', async () => {
    const phone = '+15550007004';
    await burst(phone, ['order A00001'], ECHO);
    const { id } = await onlyConversation(phone);
    await waitForConversation(s, id, (c) => c.status === 'active', 'the first turn to start');
    await burst(phone, ['order A00002', 'order A00003'], ECHO);
    const done = await waitForConversation(s, id, (c) => agentMessages(c).length === 2 && c.status === 'suspended', 'the second turn', 10_000);
    expect(shape(done)).toBe('U U U A A');
    expect(agentMessages(done).map((i) => i.text)).toEqual(['Answered A00001.', 'Answered A00002 A00003.']);
    await waitFor(() => s.sim.messages.filter((m) => m.to === phone).length === 2, 'both replies');
    const [first, second] = echo.prompts.filter((p) => p.lines[0]?.includes('A00001'));
    expect(first!.lines).toEqual(['user: order A00001']);
    expect(second!.lines).toEqual(['user: order A00001', 'assistant: Answered A00001.', 'user: order A00002\norder A00003']);
  });

  it('a text stored during a turn with an older id (another node minted it) is answered by the next turn', async () => {
    const phone = '+15550007005';
    await burst(phone, ['order A00011'], ECHO);
    const { id } = await onlyConversation(phone);
    const during = await waitForConversation(s, id, (c) => c.status === 'active', 'the first turn to start');
    const first = userMessages(during)[0]!;
    // As node B stores a text whose webhook reached it now: its clock a second behind, so the id it
    // mints sorts before the text this turn is answering. Its accept queues a turn, which finds the
    // lease taken and looks again later.
    const createdAt = Date.parse(first.createdAt) - 1000;
    const late: Item = {
      id: idAt(createdAt), conversationId: id, role: 'user', type: 'message', text: 'order A00012', interrupted: false,
      data: { reply: first.data!.reply }, createdAt,
    };
    expect(late.id < first.id).toBe(true);
    const { deps } = s.server.conversations;
    await deps.store.items.append(late);
    await scheduleTurn(deps, id, clock.now());

    await waitForConversation(s, id, (c) => agentMessages(c).length >= 1 && c.status === 'suspended', 'the first turn to end', 10_000);
    await s.advance(1_000); // node B's turn job looks again
    const done = await waitForConversation(s, id, (c) => agentMessages(c).length === 2 && c.status === 'suspended', 'the late text to be answered', 10_000);
    expect(agentMessages(done).map((i) => i.text)).toEqual(['Answered A00011.', 'Answered A00012.']);
    await waitFor(() => s.sim.messages.filter((m) => m.to === phone).length === 2, 'both replies');
  });
});

/** An item id minted at `ms` (ids are a time prefix, then randomness: they sort by the clock that made them). */
function idAt(ms: number): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let time = '';
  for (let i = 0, t = ms; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32]! + time;
  return `itm_${time}${'z'.repeat(16)}`;
}
