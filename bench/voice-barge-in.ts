import type { MediaStreamCaller } from '../src/testing/twilio-call-stream.ts';
import { sleep } from './lib/fleet.ts';
import { cpuWindow } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain } from './lib/server.ts';
import { round, summarize } from './lib/stats.ts';
import { RATE, espeakAvailable, espeakSpeech, toneSpeech } from './lib/voice-audio.ts';
import { conversationOfCaller, hangUpAll, placeCalls, startVoiceBench, voiceConfig, type PlacedCall } from './lib/voice-calls.ts';
import { loopLag } from './lib/voice-turns.ts';
import { vadEdges } from './lib/voice-vad-probe.ts';

/**
 * Barge-in reaction (DESIGN.md "Performance budgets": caller speech onset → `clear` sent, < the
 * VAD's minimum speech window + 20 ms, i.e. voice.interruption.minSpeech (300 ms by default) +
 * 20 ms). The agent answers every caller utterance with a long answer (scripted model and TTS, no
 * delay, ~10 s of audio); at a random point of it the caller starts talking ("hold on, can you
 * check my other order", synthesised by espeak-ng, its leading silence cut so the clip starts at
 * the speech onset), which the real Silero VAD must hear through μ-law 8 kHz. Measured at the
 * simulator: `clear` received − the moment the frame carrying the onset left the simulator (the
 * earliest instant the server could know). The caller's words interrupt the turn, and the agent
 * answers them with the next long answer, so each call chains its barge-ins.
 * Also recorded: the same from the onset's place on the line (20 ms earlier: a frame leaves once
 * its 20 ms are spoken), barge-ins with no `clear` within 3 s, and interrupted answers stored.
 * A control run does the same with the energy VAD and a loud chord, whose onset the VAD dates to
 * the window holding it: what is left above minSpeech there is the platform's own reaction.
 */
const FULL = { calls: 3, controlCalls: 2, bargeInsPerCall: 10, minSpeechMs: 300, earliestMs: 500, latestMs: 6000, poolSize: 4 };
const QUICK = { calls: 1, controlCalls: 1, bargeInsPerCall: 4, minSpeechMs: 300, earliestMs: 500, latestMs: 3000, poolSize: 2 };
type Params = typeof FULL;

const ANSWER = ['Your order has shipped and it is on its way to you now. ', 'It left our warehouse this morning and should arrive on Tuesday. ', 'You will get a text message with the tracking number later today.'];
const ANSWER_MS = ANSWER.join('').length * 60;
/** What the callers say to interrupt, in turn; the scripted STT hears each as `TRANSCRIPT`. */
const UTTERANCES = ['wait can you check my other order', 'hold on can you check my other order', 'actually can you check my other order', 'no I mean my other order'];
const TRANSCRIPT = 'can you check my other order';

interface Clip {
  text: string;
  pcm: Int16Array;
  ms: number;
}

interface BargeIn {
  call: number;
  utterance: string;
  /** After the answer's first audio, ms. */
  atMs: number;
  /** Clear received − onset frame sent. */
  latencyMs?: number;
  /** Clear received − onset's line time (the frame's start). */
  fromLineOnsetMs?: number;
  /** How late the onset frame left after its due time (the simulator's own timer lateness). */
  sendLagMs: number;
}

/** Resolves with the moment frame `index` (0-based) has left: checked on every turn of the event loop. */
async function frameSentAt(stream: MediaStreamCaller, index: number): Promise<number> {
  while (stream.framesSent <= index) await new Promise<void>((r) => setImmediate(r));
  return performance.now();
}

function nextClear(c: PlacedCall, afterMs: number, timeoutMs: number): Promise<number | undefined> {
  const seen = c.call.stream?.clears.find((x) => x.atMs >= afterMs);
  if (seen) return Promise.resolve(seen.atMs);
  return new Promise((resolve) => {
    const onClear = (x: { atMs: number }): void => {
      if (x.atMs < afterMs) return;
      clearTimeout(timer);
      c.call.off('clear', onClear);
      resolve(x.atMs);
    };
    const timer = setTimeout(() => {
      c.call.off('clear', onClear);
      resolve(undefined);
    }, timeoutMs);
    c.call.on('clear', onClear);
  });
}

async function bargeInChain(c: PlacedCall, p: Params, clips: readonly Clip[]): Promise<BargeIn[]> {
  const stream = c.call.stream!;
  const out: BargeIn[] = [];
  // The first question; its answer is the first one to interrupt.
  let spokeUntil = await c.call.say({ pcm: clips[0]!.pcm, sampleRate: RATE });
  for (let k = 0; k < p.bargeInsPerCall; k++) {
    const clip = clips[(c.index + k) % clips.length]!;
    const answer = await c.call.waitForAudio(spokeUntil, 20_000);
    const atMs = p.earliestMs + Math.random() * (Math.min(p.latestMs, ANSWER_MS - 2500) - p.earliestMs);
    await sleep(Math.max(0, answer.atMs + atMs - performance.now()));
    const first = stream.framesSent;
    const said = c.call.say({ pcm: clip.pcm, sampleRate: RATE });
    const sentAt = await frameSentAt(stream, first);
    const lineOnset = stream.startedAtMs + first * 20;
    const clearAt = await nextClear(c, sentAt, 3000);
    const sendLagMs = sentAt - (lineOnset + 20);
    out.push({
      call: c.index,
      utterance: clip.text,
      atMs: round(atMs, 1),
      sendLagMs: round(sendLagMs, 2),
      ...(clearAt !== undefined ? { latencyMs: clearAt - sentAt, fromLineOnsetMs: clearAt - lineOnset } : {}),
    });
    spokeUntil = await said;
  }
  await c.call.waitForAudio(spokeUntil, 20_000).catch(() => undefined);
  return out;
}

interface VariantResult {
  figures: Figure[];
  data: Record<string, unknown>;
  problems: string[];
}

/** One server, `calls` calls chaining barge-ins with these clips. */
async function variant(ctx: BenchContext, p: Params, vad: 'silero' | 'energy', clips: Clip[], calls: number, source: string, main: boolean): Promise<VariantResult> {
  // Where the VAD dates each clip's onset, at the 8 phases of its window grid (offline, same code).
  const onsets: Record<string, ReturnType<typeof summarize>> = {};
  for (const c of clips) onsets[c.text] = summarize((await vadEdges(c.pcm, vad)).onsetMs);
  const transcripts = Array.from({ length: 4 * (p.bargeInsPerCall + 2) }, () => TRANSCRIPT);
  const config = voiceConfig({ poolSize: p.poolSize, agent: { vad, transcripts, answer: ANSWER, voice: { interruption: { minSpeech: p.minSpeechMs } } } });
  const bench = await startVoiceBench(config, ctx.serverNodeArgs);
  const placed: PlacedCall[] = [];
  try {
    placed.push(...(await placeCalls(bench, calls, calls)));
    await sleep(1500); // the greeting plays
    ctx.log(`${vad} VAD: ${calls} call(s) × ${p.bargeInsPerCall} barge-ins (caller audio: ${source})`);
    const cpu = cpuWindow(bench.server.pid);
    const lag = loopLag();
    const t0 = performance.now();
    const results = (await Promise.all(placed.map((c) => bargeInChain(c, p, clips)))).flat();
    const used = cpu();
    const wallS = (performance.now() - t0) / 1000;
    const clientLoopLag = lag();
    const hit = results.filter((r) => r.latencyMs !== undefined);
    const s = summarize(hit.map((r) => r.latencyMs!));
    let interrupted = 0;
    for (const c of placed) interrupted += (await conversationOfCaller(bench.server.url, c.phone)).items.filter((i) => i.role === 'agent' && (i as { interrupted?: boolean }).interrupted).length;
    const target = { op: '<' as const, value: p.minSpeechMs + 20, source: `DESIGN.md "Performance budgets" (< VAD minimum speech window + 20 ms; voice.interruption.minSpeech = ${p.minSpeechMs} ms)` };
    ctx.log(`  clear after onset: ${latencyDetail(s)}; ${results.length - hit.length} without clear`);
    const what = main ? 'Silero VAD, espeak-ng speech' : 'control: energy VAD, a chord with a sharp onset';
    const figures: Figure[] = [
      figure(`barge_in_${vad}_p95`, `barge-in p95 (${what}): onset frame sent → clear received`, s.p95, 'ms', { detail: latencyDetail(s), target }),
      figure(`barge_in_${vad}_p50`, `barge-in p50 (${what})`, s.p50, 'ms', { detail: latencyDetail(s), ...(main ? {} : { target }) }),
    ];
    if (main) figures.push(figure('barge_in_missed', 'barge-ins with no clear within 3 s', results.length - hit.length, 'barge-ins', { target: { op: '<', value: 1, source: 'every barge-in must stop the agent' } }));
    return {
      figures,
      data: {
        vad,
        calls,
        callerAudio: { clips: clips.map((c) => ({ text: c.text, ms: round(c.ms, 1) })), source },
        vadOnsetVsClipOnsetMs: { note: 'VAD speech start − first sample of the clip, offline with the server\'s InboundAudio + VAD + SpeechDetector, clip at the 8 phases of the 32 ms window grid; the policy counts minSpeech from this instant', byClip: onsets },
        onsetSentToClearMs: s,
        byUtterance: Object.fromEntries(clips.map((c) => [c.text, summarize(hit.filter((r) => r.utterance === c.text).map((r) => r.latencyMs!))])),
        lineOnsetToClearMs: summarize(hit.map((r) => r.fromLineOnsetMs!)),
        missed: results.length - hit.length,
        interruptedAnswersStored: interrupted,
        onsetFrameSendLagMs: summarize(results.map((r) => r.sendLagMs)),
        serverCpuPctOfOneCore: round((used.serverCpuS / wallS) * 100, 1),
        clientCpuPctOfOneCore: round((used.clientCpuS / wallS) * 100, 1),
        otherProcessesCpuPct: round(used.otherCpuPct, 1),
        clientLoopLag,
        samples: results.map((r) => ({ ...r, latencyMs: r.latencyMs === undefined ? null : round(r.latencyMs, 2) })),
        serverStartupMs: Math.round(bench.server.startupMs),
      },
      problems: bench.server.problems(),
    };
  } catch (err) {
    throw explain(bench.server, err);
  } finally {
    await hangUpAll(placed);
    await bench.close();
  }
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const espeak = espeakAvailable();
  const chord: Clip[] = [{ text: '(a loud chord, 1.5 s)', pcm: toneSpeech(1500), ms: 1500 }];
  const speech: Clip[] = espeak ? UTTERANCES.map((u) => espeakSpeech(u)) : chord;
  const main = await variant(ctx, p, espeak ? 'silero' : 'energy', speech, p.calls, espeak ? 'espeak-ng --stdout, -v en-us -s 160, resampled to 16 kHz, leading/trailing silence (< −50 dBFS) cut' : 'a chord (espeak-ng is not installed)', true);
  const control = espeak ? await variant(ctx, p, 'energy', chord, p.controlCalls, 'a chord (bench/lib/voice-audio.ts toneSpeech)', false) : undefined;
  return {
    figures: [...main.figures, ...(control?.figures ?? [])],
    data: { parameters: { ...p, answerMs: ANSWER_MS }, main: main.data, ...(control ? { control: control.data } : {}) },
    serverProblems: [...main.problems, ...(control?.problems ?? [])],
  };
}

export const voiceBargeIn: Benchmark = {
  name: 'voice-barge-in',
  description: 'barge-in: caller speech onset → Twilio clear at the simulator, Silero VAD, espeak-ng caller audio',
  run,
};
