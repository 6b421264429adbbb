import { afterEach, describe, expect, it } from 'vitest';
import { api, serve, type TestServer } from '../helpers/api.ts';
import { scriptedAgent } from '../helpers/server.ts';
import { VoiceClient, speechLike } from '../helpers/voice-client.ts';

/** Browser voice over `/v1/realtime` (API.md): scripted STT/TTS/model, the energy VAD, real time. */
function voiceConfig(transcripts: string[], steps: object[], voice: object = {}): object {
  return {
    pool: { size: 1 },
    agents: {
      support: scriptedAgent(steps, {
        greeting: 'Hello, Acme here.',
        voice: {
          stt: { engine: 'scripted', transcripts },
          tts: { engine: 'scripted' },
          vad: { engine: 'energy' },
          silence: { reprompt: '60s', hangup: '120s' },
          ...voice,
        },
      }),
    },
  };
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('browser voice mode', () => {
  it('speaks the greeting, hears the caller, answers in audio, and stores the turn with its latency split', async () => {
    srv = await serve(voiceConfig(['where is my order'], [{ deltas: ['Your order ', 'has shipped.'] }]));
    const client = await VoiceClient.connect(srv.url);
    const started = await client.start('support');
    const conversationId = started.conversationId as string;
    const greeting = await client.waitFor((m) => m.type === 'agent.done');
    expect(greeting.text).toBe('Hello, Acme here.');
    expect(client.audioBytes()).toBeGreaterThan(16_000); // > 0.5 s of PCM16 at 16 kHz

    await client.speak(speechLike(700));
    await client.silence(900);
    const transcript = await client.waitFor((m) => m.type === 'user.transcript' && m.final === true);
    expect(transcript.text).toBe('where is my order');
    const answer = await client.waitFor((m) => m.type === 'agent.done' && m.text !== 'Hello, Acme here.');
    expect(answer).toMatchObject({ text: 'Your order has shipped.', interrupted: false });

    const conv = await api(srv.url, `/v1/conversations/${conversationId}`);
    const items = conv.body.items as { role: string; type: string; text: string; metrics?: Record<string, number> }[];
    expect(items.map((i) => [i.role, i.text])).toEqual([
      ['agent', 'Hello, Acme here.'],
      ['user', 'where is my order'],
      ['agent', 'Your order has shipped.'],
    ]);
    const m = items[2]!.metrics!;
    for (const k of ['totalMs', 'endpointingMs', 'modelFirstTokenMs', 'ttsFirstAudioMs', 'overheadMs']) expect(m[k]).toBeTypeOf('number');
    expect(m.endpointingMs).toBeGreaterThan(200);
    expect(m.totalMs).toBeGreaterThanOrEqual(m.endpointingMs!);
    expect(conv.body.channel).toBe('voice');
    client.close();
  });

  it('barge-in clears the audio and cuts the agent message to what was heard', async () => {
    const long = 'This is a long answer that goes on and on. It has several sentences to speak. Each one takes a while to say out loud. Nobody wants to hear all of it.';
    srv = await serve(voiceConfig(['tell me everything', 'stop please'], [{ deltas: [long] }, { deltas: ['Sure, stopping.'] }], { interruption: { minSpeech: '200ms' } }));
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('support');
    await client.waitFor((m) => m.type === 'agent.done');
    await client.speak(speechLike(600));
    await client.silence(800);
    await client.waitFor((m) => m.type === 'agent.delta' && String(m.text).startsWith('This is a long'));
    await client.silence(1200); // let some of the answer play
    await client.speak(speechLike(600));
    const clear = await client.waitFor((m) => m.type === 'audio.clear');
    await client.silence(900);
    const cut = await client.waitFor((m) => m.type === 'agent.done' && m.interrupted === true);
    expect(String(cut.text).length).toBeGreaterThan(0);
    expect(long.startsWith(String(cut.text).replace(/\s+$/, ''))).toBe(true);
    expect(String(cut.text).length).toBeLessThan(long.length);
    await client.waitFor((m) => m.type === 'agent.done' && m.text === 'Sure, stopping.');
    expect(clear).toBeDefined();

    const conv = await api(srv.url, `/v1/conversations/${conversationId as string}`);
    const agentItems = (conv.body.items as { role: string; text: string; interrupted: boolean }[]).filter((i) => i.role === 'agent');
    expect(agentItems[1]).toMatchObject({ text: cut.text, interrupted: true });
    client.close();
  });

  it('rejects odd-length audio frames with audio_frame_invalid and carries on', async () => {
    srv = await serve(voiceConfig([], [{ deltas: ['ok'] }]));
    const client = await VoiceClient.connect(srv.url);
    await client.start('support');
    client.ws.send(Buffer.from([1, 2, 3]));
    const err = await client.waitFor((m) => m.type === 'error');
    expect(err.code).toBe('audio_frame_invalid');
    await client.waitFor((m) => m.type === 'agent.done');
    client.close();
  });

  it('a backchannel does not interrupt, and a noise that paused the agent lets it resume: both answers complete', async () => {
    const long = 'Here is a fairly long answer. It has a few sentences in it. They take some seconds to say. And then it ends.';
    srv = await serve(voiceConfig(['tell me', 'uh-huh', ''], [{ deltas: [long] }], { interruption: { minSpeech: '300ms', falseInterruption: '600ms' } }));
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('support');
    await client.waitFor((m) => m.type === 'agent.done');
    await client.speak(speechLike(600));
    await client.silence(800);
    await client.waitFor((m) => m.type === 'agent.delta' && String(m.text).startsWith('Here is'));
    // "uh-huh": short, and a backchannel: the agent keeps talking.
    await client.speak(speechLike(200));
    await client.silence(600);
    expect(client.all('audio.clear')).toHaveLength(0);
    // A noise long enough to pause the agent, with no words in it: the agent resumes where it was.
    await client.speak(speechLike(500));
    await client.waitFor((m) => m.type === 'audio.clear');
    await client.silence(1500);
    const done = await client.waitFor((m) => m.type === 'agent.done' && m.text !== 'Hello, Acme here.', 20_000);
    expect(done).toMatchObject({ interrupted: false, text: long });
    const conv = await api(srv.url, `/v1/conversations/${conversationId as string}`);
    const items = conv.body.items as { role: string; text: string; interrupted: boolean }[];
    expect(items.filter((i) => i.role === 'user').map((i) => i.text)).toEqual(['tell me']);
    expect(items.at(-1)).toMatchObject({ role: 'agent', text: long, interrupted: false });
    client.close();
  });

  it('with interruption disabled, a caller turn said over the agent waits for the answer to finish, then is answered', async () => {
    const long = 'Here is a fairly long answer. It has a few sentences in it. They take some seconds to say. And then it ends.';
    srv = await serve(voiceConfig(['tell me', 'what about my refund'], [{ deltas: [long] }, { deltas: ['Your refund is on its way.'] }], { interruption: { enabled: false } }));
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('support');
    await client.waitFor((m) => m.type === 'agent.done');
    await client.speak(speechLike(600));
    await client.silence(800);
    await client.waitFor((m) => m.type === 'agent.delta' && String(m.text).startsWith('Here is'));
    await client.speak(speechLike(700)); // a whole turn, said over the answer
    await client.silence(1000);
    const first = await client.waitFor((m) => m.type === 'agent.done' && m.text !== 'Hello, Acme here.', 20_000);
    expect(first).toMatchObject({ interrupted: false, text: long });
    await client.silence(200);
    const second = await client.waitFor((m) => m.type === 'agent.done' && m.text === 'Your refund is on its way.', 20_000);
    expect(second).toMatchObject({ interrupted: false });
    expect(client.all('audio.clear')).toHaveLength(0);
    const conv = await api(srv.url, `/v1/conversations/${conversationId as string}`);
    const items = conv.body.items as { role: string; text: string; interrupted: boolean }[];
    expect(items.map((i) => [i.role, i.text, i.interrupted])).toEqual([
      ['agent', 'Hello, Acme here.', false],
      ['user', 'tell me', false],
      ['agent', long, false],
      ['user', 'what about my refund', false],
      ['agent', 'Your refund is on its way.', false],
    ]);
    client.close();
  });
});
