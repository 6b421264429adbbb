import { afterEach, describe, expect, it } from 'vitest';
import { api, serve, waitFor, type TestServer } from '../helpers/api.ts';
import { scriptedAgent } from '../helpers/server.ts';
import { VoiceClient, speechLike } from '../helpers/voice-client.ts';

/** Calls whose engines fail, stall, or whose caller goes silent or drops: the call ends or recovers cleanly. */
function agent(voice: object, steps: object[] = [{ deltas: ['Sure thing.'] }], greeting = 'Hello.'): object {
  return scriptedAgent(steps, {
    greeting,
    voice: { stt: { engine: 'scripted', transcripts: [] }, tts: { engine: 'scripted' }, vad: { engine: 'energy' }, ...voice },
  });
}

interface Item {
  role: string;
  text: string;
  interrupted: boolean;
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function conversation(id: string): Promise<{ status: string; endedReason?: string; items: Item[] }> {
  return (await api(srv!.url, `/v1/conversations/${id}`)).body as { status: string; endedReason?: string; items: Item[] };
}

async function turn(client: VoiceClient): Promise<void> {
  await client.speak(speechLike(600));
  await client.silence(800);
}

describe('voice calls under failure', () => {
  it('a failing TTS reports tts_failed, keeps the transcript, and the next turn speaks again; other calls are untouched', async () => {
    srv = await serve({
      pool: { size: 2 },
      agents: {
        broken: agent({ stt: { engine: 'scripted', transcripts: ['first', 'second'] }, tts: { engine: 'scripted', failOn: 'BOOM' } }, [
          { deltas: ['This will BOOM now.'] },
          { deltas: ['Working again.'] },
        ]),
        fine: agent({ stt: { engine: 'scripted', transcripts: ['hi'] } }),
      },
    });
    const other = await VoiceClient.connect(srv.url);
    await other.start('fine');
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('broken');
    await client.waitFor((m) => m.type === 'agent.done');
    await turn(client);
    const err = await client.waitFor((m) => m.type === 'error');
    expect(err.code).toBe('tts_failed');
    await turn(client);
    await client.waitFor((m) => m.type === 'agent.done' && m.text === 'Working again.');
    const conv = await conversation(conversationId as string);
    expect(conv.status).toBe('active');
    expect(conv.items.map((i) => [i.role, i.text])).toContainEqual(['user', 'first']);
    // Nothing of the failed answer was heard, so none of it is in the transcript.
    expect(conv.items.some((i) => i.text.includes('BOOM'))).toBe(false);

    await turn(other);
    await other.waitFor((m) => m.type === 'agent.done' && m.text === 'Sure thing.');
    other.close();
    client.close();
  });

  it('a stalled TTS gives tts_stalled and the call goes on', async () => {
    srv = await serve({
      pool: { size: 1 },
      agents: { a: agent({ stt: { engine: 'scripted', transcripts: ['one', 'two'] }, tts: { engine: 'scripted', stallOn: 'STALL' } }, [{ deltas: ['I will STALL.'] }, { deltas: ['Back.'] }]) },
    });
    const client = await VoiceClient.connect(srv.url);
    await client.start('a');
    await client.waitFor((m) => m.type === 'agent.done');
    await turn(client);
    const err = await client.waitFor((m) => m.type === 'error', 12_000);
    expect(err.code).toBe('tts_stalled');
    await turn(client);
    await client.waitFor((m) => m.type === 'agent.done' && m.text === 'Back.');
    client.close();
  });

  it('a failing STT reports stt_failed; the caller can speak again', async () => {
    srv = await serve({
      pool: { size: 1 },
      agents: { a: agent({ stt: { engine: 'scripted', transcripts: ['FAIL', 'hello again'], failOn: 'FAIL' } }) },
    });
    const client = await VoiceClient.connect(srv.url);
    await client.start('a');
    await client.waitFor((m) => m.type === 'agent.done');
    await turn(client);
    expect((await client.waitFor((m) => m.type === 'error')).code).toBe('stt_failed');
    await turn(client);
    const t = await client.waitFor((m) => m.type === 'user.transcript' && m.final === true);
    expect(t.text).toBe('hello again');
    await client.waitFor((m) => m.type === 'agent.done' && m.text === 'Sure thing.');
    client.close();
  });

  it('a silent caller is re-prompted, then the call ends politely with silence_timeout', async () => {
    srv = await serve({
      pool: { size: 1 },
      agents: { a: agent({ silence: { reprompt: '1s', hangup: '2500ms', repromptText: 'Are you there?', goodbyeText: 'Goodbye for now.' } }) },
    });
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('a');
    const silent = client.silence(8000);
    const ended = await client.waitFor((m) => m.type === 'session.ended', 12_000);
    expect(ended.reason).toBe('silence_timeout');
    const conv = await conversation(conversationId as string);
    const said = conv.items.filter((i) => i.role === 'agent').map((i) => i.text);
    expect(said[0]).toBe('Hello.');
    expect(said).toContain('Are you there?');
    expect(said.at(-1)).toBe('Goodbye for now.');
    await silent;
  });

  it('a caller who drops mid-answer: the conversation ends and the answer is stored cut to what was heard', async () => {
    const long = 'Here is a long answer. It goes on for quite a while. There are many sentences in it. You will not hear them all.';
    srv = await serve({ pool: { size: 1 }, agents: { a: agent({ stt: { engine: 'scripted', transcripts: ['tell me'] } }, [{ deltas: [long] }]) } });
    const client = await VoiceClient.connect(srv.url);
    const { conversationId } = await client.start('a');
    await client.waitFor((m) => m.type === 'agent.done');
    await turn(client);
    await client.waitFor((m) => m.type === 'agent.delta' && String(m.text).startsWith('Here is'));
    client.ws.terminate();
    const conv = await waitFor(async () => {
      const c = await conversation(conversationId as string);
      return c.status === 'ended' ? c : undefined;
    }, 'ended');
    expect(conv.endedReason).toBe('client_disconnect');
    const answer = conv.items.filter((i) => i.role === 'agent').at(-1)!;
    expect(answer.interrupted).toBe(true);
    expect(long.startsWith(answer.text)).toBe(true);
    expect(answer.text.length).toBeLessThan(long.length);
  });

  it('a clipped (full-scale) stream is still heard as speech', async () => {
    srv = await serve({ pool: { size: 1 }, agents: { a: agent({ stt: { engine: 'scripted', transcripts: ['loud'] } }) } });
    const client = await VoiceClient.connect(srv.url);
    await client.start('a');
    await client.waitFor((m) => m.type === 'agent.done');
    const clipped = speechLike(600).map((v) => (v > 0 ? 32767 : -32768));
    await client.speak(clipped);
    await client.silence(800);
    expect((await client.waitFor((m) => m.type === 'user.transcript' && m.final === true)).text).toBe('loud');
    client.close();
  });
});
