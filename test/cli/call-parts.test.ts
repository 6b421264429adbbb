import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { AgentUtterances, type UtteranceEvent } from '../../src/cli/call/agent-utterances.ts';
import { CallerLines, type NextAction } from '../../src/cli/call/caller-lines.ts';
import { toneFor, trimQuiet } from '../../src/cli/call/caller-voice.ts';
import { transcriptText } from '../../src/cli/call/report.ts';
import { parseCallerLine, parseScript } from '../../src/cli/call/script.ts';
import { pcm16ToMulaw } from '../../src/voice/codec.ts';

/** `ms` of agent audio as μ-law: a loud 440 Hz tone, or silence. */
function audio(ms: number, loud = true): Uint8Array {
  const pcm = new Int16Array(ms * 8);
  if (loud) for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return pcm16ToMulaw(pcm);
}

const heardMs = (events: UtteranceEvent[]): number => events.reduce((n, e) => n + (e.type === 'audio' ? e.pcm.length / 8 : 0), 0);
const ends = (events: UtteranceEvent[]) => events.flatMap((e) => (e.type === 'end' ? [e.utterance] : []));

describe('AgentUtterances', () => {
  it('hands out audio as it plays and ends an utterance after 400 ms of quiet', () => {
    const u = new AgentUtterances();
    u.push(1000, audio(1000)); // sent at once, plays 1000..2000
    expect(heardMs(u.poll(1500))).toBe(500);
    const tail = u.poll(2399);
    expect(heardMs(tail)).toBe(500);
    expect(ends(tail)).toEqual([]);
    const done = u.poll(2400);
    expect(heardMs(done)).toBe(0);
    expect(ends(done)).toEqual([{ startMs: 1000, endMs: 2000, interrupted: false }]);
  });

  it('keeps pauses shorter than the gap inside one utterance and splits at longer ones', () => {
    const u = new AgentUtterances();
    u.push(0, audio(500));
    u.push(0, audio(300, false)); // quiet frames sent by the server: 500..800
    u.push(0, audio(500)); // 800..1300
    u.push(2000, audio(200)); // after 700 ms without audio
    const events = u.poll(3000);
    expect(ends(events)).toEqual([
      { startMs: 0, endMs: 1300, interrupted: false },
      { startMs: 2000, endMs: 2200, interrupted: false },
    ]);
    expect(heardMs(events)).toBe(1300 + 200);
  });

  it('cuts the utterance at a clear and never hands out what was not heard', () => {
    const u = new AgentUtterances();
    u.push(0, audio(3000));
    expect(heardMs(u.poll(1000))).toBe(1000);
    u.clear(1250);
    const events = u.poll(1260);
    expect(heardMs(events)).toBe(250);
    expect(ends(events)).toEqual([{ startMs: 0, endMs: 1250, interrupted: true }]);
    expect(u.voicedUntilMs).toBe(1250);
    u.push(1500, audio(100)); // the answer to the barge-in is a new utterance
    expect(ends(u.flush())).toEqual([{ startMs: 1500, endMs: 1600, interrupted: false }]);
  });

  it('drops an utterance queued after the clear point entirely', () => {
    const u = new AgentUtterances();
    u.push(0, audio(200));
    u.push(0, audio(600, false));
    u.push(0, audio(200)); // a second utterance, due to play at 800
    u.clear(500);
    expect(ends(u.flush())).toEqual([{ startMs: 0, endMs: 200, interrupted: false }]);
  });
});

describe('caller lines', () => {
  it('reads speech, keys, waits and hang-ups', () => {
    expect(parseCallerLine('  where is my order ')).toEqual({ kind: 'say', text: 'where is my order' });
    expect(parseCallerLine('#1234#')).toEqual({ kind: 'dtmf', digits: '1234#' });
    expect(parseCallerLine('# 12-34 ')).toEqual({ kind: 'dtmf', digits: '1234' });
    expect(parseCallerLine('/wait 2s')).toEqual({ kind: 'wait', ms: 2000 });
    expect(parseCallerLine('/wait 250ms')).toEqual({ kind: 'wait', ms: 250 });
    expect(parseCallerLine('/wait 1.5')).toEqual({ kind: 'wait', ms: 1500 });
    expect(parseCallerLine('/hangup')).toEqual({ kind: 'hangup' });
    expect(parseCallerLine('')).toEqual({ kind: 'none' });
    expect(parseCallerLine('// a comment')).toEqual({ kind: 'none' });
  });

  it('rejects malformed commands, naming the script line', () => {
    expect(() => parseCallerLine('#12x')).toThrow(UsageError);
    expect(() => parseCallerLine('/wait soon')).toThrow(/give a time/);
    expect(() => parseCallerLine('/dance')).toThrow(/unknown command/);
    expect(() => parseScript('hello\n/wait\n')).toThrow(/line 2 of the script/);
  });

  it('reads /over (and /bargein): a time as /wait takes it, then the text to say over the agent', () => {
    expect(parseCallerLine('/over 1s stop please wait')).toEqual({ kind: 'over', ms: 1000, text: 'stop please wait' });
    expect(parseCallerLine('  /bargein 750ms   hold on  ')).toEqual({ kind: 'over', ms: 750, text: 'hold on' });
    expect(parseCallerLine('/OVER 2 wait')).toEqual({ kind: 'over', ms: 2000, text: 'wait' });
    expect(parseCallerLine('/over 0.5s #1 is wrong')).toEqual({ kind: 'over', ms: 500, text: '#1 is wrong' });
  });

  it('rejects /over without a time or without text, naming the script line', () => {
    expect(() => parseCallerLine('/over soon stop')).toThrow(/"\/over soon stop": give a time, e\.g\. \/over 1s/);
    expect(() => parseCallerLine('/over')).toThrow(/give a time/);
    expect(() => parseCallerLine('/over 1s')).toThrow(/"\/over 1s": say what to say over the agent/);
    expect(() => parseCallerLine('/bargein 2s   ')).toThrow(UsageError);
    expect(() => parseScript('where is my order\n/over 1s\n')).toThrow(/^line 2 of the script: .*say what to say/);
    expect(() => parseCallerLine('/dance')).toThrow(/\/over <time> <text>/);
  });
});

describe('CallerLines', () => {
  it('hands out actions one at a time, skipping comments and reporting malformed lines', async () => {
    async function* typed(): AsyncGenerator<string> {
      for (const line of ['where is my order', '// barge in on the answer', '', '/over 1s', '/over 1s stop please', '/hangup']) {
        await new Promise((r) => setTimeout(r, 1)); // lines come as they are typed
        yield line;
      }
    }
    const warnings: string[] = [];
    const lines = new CallerLines(typed(), (m) => warnings.push(m));
    const actions: NextAction[] = [];
    for (let a = await lines.next(); a; a = await lines.next()) actions.push(a);
    expect(actions).toEqual([
      { kind: 'say', text: 'where is my order' },
      { kind: 'over', ms: 1000, text: 'stop please' },
      { kind: 'hangup' },
    ]);
    expect(warnings).toEqual([expect.stringContaining('"/over 1s": say what to say')]);
    expect(await new CallerLines(['#12#'], () => undefined).next()).toEqual({ kind: 'dtmf', digits: '12#' });
  });
});

describe('the caller tone', () => {
  it('lasts about as long as the text would take to say, within bounds, and is loud', () => {
    expect(toneFor('hi').length).toBe(8000); // 500 ms at 16 kHz
    expect(toneFor('where is my order').length).toBe(17 * 70 * 16);
    expect(toneFor('x'.repeat(500)).length).toBe(6000 * 16);
    const tone = toneFor('hello');
    const rms = Math.sqrt(tone.reduce((sum, x) => sum + x * x, 0) / tone.length);
    expect(rms).toBeGreaterThan(4000); // about -17 dBFS; the energy VAD's threshold is -40

  });
});

describe('the stored transcript', () => {
  it('shows speech, keys, interruptions and answer times', () => {
    const text = transcriptText({
      id: 'conv_1',
      agent: 'support',
      status: 'ended',
      endedReason: 'caller_hangup',
      items: [
        { role: 'agent', type: 'message', text: 'Hello' },
        { role: 'user', type: 'dtmf', text: '1' },
        { role: 'user', type: 'message', text: 'stop' },
        { role: 'agent', type: 'message', text: 'Your order', interrupted: true, metrics: { totalMs: 812.4 } },
      ],
    });
    expect(text).toBe(
      ['Transcript of conv_1 (support, ended: caller_hangup):', '  agent: Hello', '  keys:  1', '  you:   stop', '  agent: Your order [interrupted]  (812 ms)'].join('\n'),
    );
  });
});

describe('the caller voice', () => {
  it("cuts espeak's quiet tail so that the end of the speech is the end of the voice", () => {
    const pcm = new Int16Array(16_000);
    pcm.fill(5000, 0, 8000); // 500 ms of voice, then 500 ms of quiet
    pcm[12_000] = 100; // low noise in the tail
    expect(trimQuiet(pcm).length).toBe(8000 + 320); // plus 20 ms
    expect(trimQuiet(new Int16Array(1000)).length).toBe(320); // nothing voiced: just the margin
  });
});
