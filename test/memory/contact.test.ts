import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/conversation.ts';
import { confirmationGap, isAffirmation, runSaveContact, saveContactSpec } from '../../src/engine/tools/contact.ts';
import { createOfflineModel } from '../../src/models/offline.ts';
import { sendMessageSpec } from '../../src/engine/tools/message.ts';
import { FakeClock } from '../../src/testing/fake-clock.ts';
import { TOOLS, callTools, makeAgent } from '../models/fixtures.ts';

/** `save_contact`'s confirmation guard and the offline model's side of the flow, as pure decisions. */

const T0 = Date.UTC(2026, 4, 4, 9);
let n = 0;
function msg(role: 'user' | 'agent', text: string): Item {
  return { id: `itm_${++n}`, conversationId: 'conv_1', role, type: 'message', text, interrupted: false, createdAt: T0 + n };
}

describe('the save_contact guard', () => {
  it('holds only after a read-back of that very contact and a yes to it', () => {
    const readBack = msg('agent', 'Just to confirm: (555) 010-2000 — is that right?');
    expect(confirmationGap([msg('user', 'text me at 555 010 2000'), readBack, msg('user', 'Yes')], 'phone', '555.010.2000')).toBeUndefined();
    expect(confirmationGap([readBack, msg('user', "yep, that's right")], 'phone', '5550102000')).toBeUndefined();
    // Another number, or digits of it spread over other text, are not a read-back.
    expect(confirmationGap([readBack, msg('user', 'yes')], 'phone', '555 010 2001')).toBe('not_read_back');
    expect(confirmationGap([msg('agent', 'Order 555, ticket 0102000. Anything else?'), msg('user', 'yes')], 'phone', '5550102000')).toBe('not_read_back');
    // Only the agent's message right before the customer's latest one counts.
    expect(confirmationGap([readBack, msg('user', 'yes'), msg('agent', 'Noted.'), msg('user', 'yes')], 'phone', '5550102000')).toBe('not_read_back');
    expect(confirmationGap([msg('user', 'yes')], 'phone', '5550102000')).toBe('not_read_back');
    expect(confirmationGap([readBack, msg('user', 'No, it ends in 2001')], 'phone', '5550102000')).toBe('not_affirmed');
    expect(confirmationGap([readBack, msg('user', 'yes'), msg('user', 'wait, no')], 'phone', '5550102000')).toBe('not_affirmed');
    const email = msg('agent', 'Just to confirm: Jane@Example.com — is that right?');
    expect(confirmationGap([email, msg('user', 'correct')], 'email', 'jane@example.com')).toBeUndefined();
    expect(confirmationGap([email, msg('user', 'correct')], 'email', 'jane@example.co')).toBe('not_read_back');
  });

  it('tells an affirmation from a denial', () => {
    for (const yes of ['yes', 'Yes.', 'yeah', 'yep', 'correct', "That's right", 'right', 'sure', 'ok', 'Yes, that is correct.\n\nJane']) {
      expect(isAffirmation(yes), yes).toBe(true);
    }
    for (const no of ['no', 'No, wrong number', 'not quite', 'yes but not that one', 'wrong', 'maybe', '', 'the other one']) {
      expect(isAffirmation(no), no).toBe(false);
    }
  });

  it('links through the platform only when confirmed, and refuses what is not a contact', async () => {
    const linked: string[] = [];
    const link = (type: 'phone' | 'email', value: string) => {
      linked.push(`${type}:${value}`);
      return Promise.resolve({ linked: true, type, value });
    };
    const history = [msg('agent', 'Just to confirm: jane@example.com — is that right?'), msg('user', 'yes')];
    const args = { type: 'email', value: 'jane@example.com' };
    expect(await runSaveContact({ ...args, confirmed: false }, history, link)).toMatchObject({ ok: true, value: { linked: false, reason: 'not_confirmed' } });
    expect(linked).toEqual([]);
    expect(await runSaveContact({ ...args, confirmed: true }, history, link)).toEqual({ ok: true, value: { linked: true, type: 'email', value: 'jane@example.com' } });
    expect(linked).toEqual(['email:jane@example.com']);
    expect(await runSaveContact({ type: 'email', value: 'jane at example', confirmed: true }, history, link)).toMatchObject({
      ok: false, error: { code: 'invalid_contact' },
    });
    expect(await runSaveContact({ type: 'phone', value: '12', confirmed: true }, history, link)).toMatchObject({ ok: false, error: { code: 'invalid_contact' } });
    expect(linked).toHaveLength(1);
  });
});

describe('the offline model and save_contact', () => {
  const builtins = [saveContactSpec(), sendMessageSpec()];
  // As in a session: the agent's own tools in its config, the built-ins offered beside them.
  const model = createOfflineModel({ agent: makeAgent(), clock: new FakeClock(T0) });
  const tools = callTools([...TOOLS, ...builtins]);
  const text = (role: 'user' | 'assistant', t: string) => ({ role, content: [{ type: 'text' as const, text: t }] });

  it('reads a contact back, calls the tool on yes, asks again on no', () => {
    const first: LanguageModelV3Prompt = [{ role: 'system', content: 'x' }, text('user', 'You can text me at 555 010 2000')];
    expect(model.decide({ prompt: first, tools })).toEqual({ text: 'Just to confirm: 555 010 2000 — is that right?', toolCalls: [] });
    const yes = [...first, text('assistant', 'Just to confirm: 555 010 2000 — is that right?'), text('user', 'yes')];
    expect(model.decide({ prompt: yes, tools }).toolCalls).toEqual([
      { toolCallId: 'call_1', toolName: 'save_contact', input: { type: 'phone', value: '555 010 2000', confirmed: true } },
    ]);
    const no = [...yes.slice(0, -1), text('user', 'no')];
    expect(model.decide({ prompt: no, tools })).toEqual({ text: 'Sorry about that. What is the right one?', toolCalls: [] });
    const again = [...no, text('assistant', 'Sorry about that. What is the right one?'), text('user', "it's 555 010 2001")];
    expect(model.decide({ prompt: again, tools }).text).toBe('Just to confirm: 555 010 2001 — is that right?');
  });

  it("leaves a message to the agent's own tool that fits it better, and to send_message when no contact is given", () => {
    const cancel: LanguageModelV3Prompt = [text('user', 'Please cancel order 778812, my email is jo@example.com')];
    expect(model.decide({ prompt: cancel, tools }).toolCalls.map((c) => c.toolName)).toEqual(['cancelOrder']);
    const textMe = [text('assistant', 'Your code is 4411.'), text('user', 'can you text me that')];
    expect(model.decide({ prompt: textMe, tools }).toolCalls.map((c) => c.toolName)).toEqual(['send_message']);
  });

  it('thanks the customer for a saved contact and reads it back again when it was not saved', () => {
    const after = (value: unknown, type: 'json' | 'error-json' = 'json'): LanguageModelV3Prompt => [
      text('user', 'yes'),
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'save_contact', input: {} }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'save_contact', output: { type, value } as never }] },
    ];
    expect(model.decide({ prompt: after({ linked: true, type: 'email', value: 'jane@example.com' }), tools }).text)
      .toBe("Thanks, I've added jane@example.com to your details.");
    expect(model.decide({ prompt: after({ linked: false, type: 'email', value: 'jane@example.com', reason: 'not_affirmed' }), tools }).text)
      .toBe('Just to confirm: jane@example.com — is that right?');
    expect(model.decide({ prompt: after({ error: { code: 'invalid_contact', message: 'x' } }, 'error-json'), tools }).text).toContain('Could you give it to me again?');
    expect(model.decide({ prompt: after({ error: { code: 'no_customer', message: 'No record.' } }, 'error-json'), tools }).text)
      .toBe("Sorry, I couldn't save it just now: No record.");
  });
});
