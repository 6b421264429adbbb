import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { resampleAll } from '../../src/voice/resample.ts';
import { parseWav } from '../../src/voice/wav.ts';
import { findBinary } from '../../src/voice/engines-status.ts';
import { api, serve, startWebhook, type TestServer } from '../helpers/api.ts';
import { VoiceClient } from '../helpers/voice-client.ts';

/**
 * The default engines, for real: Silero VAD, pocketsphinx STT and espeak-ng TTS (Debian packages,
 * installed by .ci/run), with the offline model and the example order tool. The caller's voice is
 * espeak-ng too, so recognition is imperfect: the assertions look for key words only.
 */
const available = findBinary('espeak-ng') !== undefined && findBinary('pocketsphinx_continuous') !== undefined;

function say(text: string): Int16Array {
  const wav = parseWav(new Uint8Array(execFileSync('espeak-ng', ['--stdout', '-s', '150', text])));
  return resampleAll(wav.samples, wav.sampleRate, 16_000);
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe.skipIf(!available)('embedded speech engines (Silero, pocketsphinx, espeak-ng)', () => {
  it('a browser call with the default engines: spoken greeting, recognised questions, a tool call with the id given in the context, a barge-in', async () => {
    const tool = await startWebhook(() => ({ status: 'shipped', deliveryDate: 'Friday' }));
    srv = await serve({
      pool: { size: 1 },
      agents: {
        support: {
          instructions: 'You help with orders.',
          greeting: 'Hello, this is Acme support.',
          voice: { silence: { reprompt: '60s', hangup: '120s' } },
          tools: [
            {
              name: 'order_status',
              description: 'Look up the shipping status of an order by its order number.',
              examples: ['where is my order A12345', 'what is the status of my order'],
              parameters: { type: 'object', properties: { orderId: { type: 'string', pattern: '^[A-Z][0-9]{5}$' } }, required: ['orderId'] },
              webhook: { url: tool.url },
            },
          ],
        },
      },
    });
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('support', { context: { orderId: 'A12345' } });
    const greeting = await client.waitFor((m) => m.type === 'agent.done', 20_000);
    expect(greeting.text).toBe('Hello, this is Acme support.');
    expect(client.audioBytes()).toBeGreaterThan(32_000); // > 1 s of speech

    await client.speak(say('where is my order'));
    await client.silence(1500);
    const heard = await client.waitFor((m) => m.type === 'user.transcript' && m.final === true, 20_000);
    expect(String(heard.text).length).toBeGreaterThan(0);
    const answer = await client.waitFor((m) => m.type === 'agent.done' && m.text !== greeting.text, 20_000);
    expect(String(answer.text).length).toBeGreaterThan(0);
    const conv = (await api(srv.url, `/v1/conversations/${conversationId as string}`)).body;
    const agentItems = (conv.items as { role: string; metrics?: Record<string, number> }[]).filter((i) => i.role === 'agent');
    const m = agentItems.at(-1)!.metrics!;
    if (process.env.VOICE_DEBUG) console.log(JSON.stringify({ heard: heard.text, answer: answer.text, metrics: m }));
    expect(String(heard.text)).toMatch(/order/);
    expect(m.ttsFirstAudioMs).toBeGreaterThanOrEqual(0);
    expect(m.totalMs).toBeGreaterThan(0);

    const from = client.messages.length;
    await client.speak(say('what is the status of my order'));
    await client.silence(1500);
    const asked = await client.waitFor((m) => m.type === 'user.transcript' && m.final === true, 20_000, from);
    if (process.env.VOICE_DEBUG) console.log(JSON.stringify({ heard: asked.text }));
    await client.waitFor((m) => m.type === 'tool.finished', 20_000, from);
    // The id came with the call (session.start context), so the agent did not have to ask for it.
    expect(tool.calls[0]?.body).toMatchObject({ arguments: { orderId: 'A12345' } });
    const reply = await client.waitFor((m) => m.type === 'agent.done', 20_000, from);
    expect(String(reply.text)).toMatch(/shipped/i);

    // Barge-in: the caller talks over the next answer; the stored answer is cut to what was heard.
    const again = client.messages.length;
    await client.speak(say('what is the status of my order'));
    await client.silence(1000);
    await client.waitFor((m) => m.type === 'agent.delta', 20_000, again);
    await client.silence(700);
    await client.speak(say('wait, stop, I have another question'));
    await client.waitFor((m) => m.type === 'audio.clear', 20_000, again);
    await client.silence(1500);
    const cut = await client.waitFor((m) => m.type === 'agent.done' && m.interrupted === true, 20_000, again);
    if (process.env.VOICE_DEBUG) console.log(JSON.stringify({ cut: cut.text }));
    const stored = (await api(srv.url, `/v1/conversations/${conversationId as string}`)).body.items as { role: string; text: string; interrupted: boolean }[];
    const interrupted = stored.filter((i) => i.role === 'agent' && i.interrupted);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.text.length).toBeLessThan(String(reply.text).length);
    client.close();
    await tool.close();
  }, 90_000);
});
