import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { sleep } from './lib/fleet.ts';
import { cpuWindow } from './lib/proc.ts';
import { figure, latencyDetail, type BenchContext, type BenchOutput, type Benchmark, type Figure } from './lib/report.ts';
import { explain, SERVER_ROOT } from './lib/server.ts';
import { round, summarize } from './lib/stats.ts';
import { RATE, espeakSpeech, type SpokenClip } from './lib/voice-audio.ts';
import { conversationOfCaller, hangUpAll, placeCalls, startVoiceBench, voiceConfig, voiceSplits, type PlacedCall, type VoiceSplit } from './lib/voice-calls.ts';

/**
 * End-to-end turn latency a caller gets from the embedded, offline engines: Silero VAD,
 * pocketsphinx STT and espeak-ng TTS, all on this machine. Two agents:
 * - `default`: the `support` agent of operator.config.yaml exactly as shipped (offline model, the
 *   order_status tool calling the example webhook on the server itself, its greeting);
 * - `scripted`: the same engines with the scripted model answering at once, so the model's share
 *   is ~0 and what remains is speech in and out.
 * The caller asks questions synthesised by espeak-ng, order numbers dictated digit by digit as
 * callers read them (espeak-ng says "A12345" as "A twelve thousand three hundred forty five",
 * which no caller does and which rightly reads as a number still being said: until 2026-11-29
 * the questions were written that way, and those turns waited the endpointer's 1.6 s maximum;
 * silence before and after cut, so the clip
 * ends where the speech ends), one at a time, each once the previous answer has finished. Measured
 * at the simulator: the caller's last speech frame sent → the agent's first audible frame
 * received, over every question that got an answer; and per turn the split the server stores
 * (endpointing, STT final, model first token, first sentence, TTS first audio, overhead). What
 * pocketsphinx heard and what the agent said are kept in the results.
 */
const FULL = { questionsPerAgent: 10, quietMs: 800, pauseMs: 600, poolSize: 2 };
const QUICK = { questionsPerAgent: 3, quietMs: 800, pauseMs: 400, poolSize: 2 };
type Params = typeof FULL;

const QUESTIONS = [
  'where is my order a one two three four five',
  'has my package shipped yet',
  "what's the status of order a one zero zero zero one",
  'can you track my order',
  'when will my order arrive',
];

const EMBEDDED_VOICE = { vad: 'silero' as const, stt: { engine: 'pocketsphinx' }, tts: { engine: 'espeak' } };

interface Turn {
  question: string;
  /** Speech end → first audible agent frame, ms; absent when no answer came within 20 s. */
  latencyMs?: number;
}

interface AgentResult {
  agent: string;
  turns: Turn[];
  splits: VoiceSplit[];
  heard: string[];
  said: string[];
  greetingMs: number;
  otherProcessesCpuPct: number;
  serverCpuS: number;
  serverProblems: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once no agent frame has arrived for `quietMs`. */
async function untilQuiet(c: PlacedCall, quietMs: number): Promise<void> {
  const media = c.call.stream!.media;
  while (performance.now() - (media.at(-1)?.atMs ?? 0) < quietMs) await sleep(50);
}

async function converse(ctx: BenchContext, p: Params, agent: string, config: object, env: Record<string, string>, clips: SpokenClip[]): Promise<AgentResult> {
  const bench = await startVoiceBench(config, ctx.serverNodeArgs, env);
  const calls: PlacedCall[] = [];
  try {
    const t0 = performance.now();
    calls.push(...(await placeCalls(bench, 1, 1)));
    const c = calls[0]!;
    await untilQuiet(c, p.quietMs);
    const greetingMs = performance.now() - t0;
    const cpu = cpuWindow(bench.server.pid);
    const turns: Turn[] = [];
    for (let k = 0; k < p.questionsPerAgent; k++) {
      const clip = clips[k % clips.length]!;
      await sleep(p.pauseMs);
      const end = await c.call.say({ pcm: clip.pcm, sampleRate: RATE });
      const answer = await c.call.waitForAudio(end, 20_000).catch(() => undefined);
      turns.push({ question: clip.text, ...(answer ? { latencyMs: answer.latencyMs } : {}) });
      ctx.log(`  ${agent}: "${clip.text}" → ${answer ? `${Math.round(answer.latencyMs)} ms` : 'no answer'}`);
      await untilQuiet(c, p.quietMs);
    }
    const used = cpu();
    await sleep(1500); // the last answer is stored once heard
    const conv = await conversationOfCaller(bench.server.url, c.phone);
    const messages = conv.items.filter((i) => i.type === 'message');
    return {
      agent,
      turns,
      splits: voiceSplits(conv),
      heard: messages.filter((i) => i.role === 'user').map((i) => i.text),
      said: messages.filter((i) => i.role === 'agent').map((i) => i.text),
      greetingMs: Math.round(greetingMs),
      otherProcessesCpuPct: round(used.otherCpuPct, 1),
      serverCpuS: round(used.serverCpuS, 2),
      serverProblems: bench.server.problems(),
    };
  } catch (err) {
    throw explain(bench.server, err);
  } finally {
    await hangUpAll(calls);
    await bench.close();
  }
}

function splitSummary(splits: readonly VoiceSplit[]): Record<string, ReturnType<typeof summarize>> {
  const keys: (keyof VoiceSplit)[] = ['totalMs', 'endpointingMs', 'sttFinalMs', 'modelFirstTokenMs', 'sentenceMs', 'ttsFirstAudioMs', 'overheadMs'];
  return Object.fromEntries(keys.map((k) => [k, summarize(splits.map((s) => s[k]))]));
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const p = ctx.quick ? QUICK : FULL;
  const clips = QUESTIONS.map((q) => espeakSpeech(q));
  const shipped = parse(readFileSync(join(SERVER_ROOT, 'operator.config.yaml'), 'utf8')) as Record<string, unknown>;
  const port = await freePort();
  const results: AgentResult[] = [];

  ctx.log(`default agent (operator.config.yaml: offline model, order_status tool), ${p.questionsPerAgent} questions`);
  results.push(await converse(ctx, p, 'default', { ...shipped, logging: { level: 'info' } }, { PORT: String(port) }, clips));

  ctx.log(`scripted model, same engines, ${p.questionsPerAgent} questions`);
  const scripted = voiceConfig({
    poolSize: p.poolSize,
    agent: { ...EMBEDDED_VOICE, answer: ['Your order A12345 has shipped. ', 'It should arrive on Tuesday.'], greeting: 'Hi, this is Acme support.' },
  });
  results.push(await converse(ctx, p, 'scripted', scripted, {}, clips));

  const figures: Figure[] = [];
  for (const r of results) {
    const answered = r.turns.filter((t) => t.latencyMs !== undefined).map((t) => t.latencyMs!);
    const s = summarize(answered);
    const label = r.agent === 'default' ? 'default agent (offline model + tool)' : 'scripted model';
    figures.push(
      figure(`voice_e2e_${r.agent}_p50`, `voice turn p50, embedded engines, ${label}: speech end → first agent audio`, s.p50, 'ms', { detail: latencyDetail(s) }),
      figure(`voice_e2e_${r.agent}_p95`, `voice turn p95, embedded engines, ${label}`, s.p95, 'ms', {
        detail: `${latencyDetail(s)}; ${r.turns.length - answered.length} of ${r.turns.length} questions unanswered`,
      }),
    );
  }
  return {
    figures,
    data: {
      parameters: p,
      engines: 'Silero VAD (onnxruntime-node), pocketsphinx en-us (koffi, one decoder per call), espeak-ng (libespeak-ng in the process\'s speech host thread)',
      callerAudio: clips.map((c) => ({ text: c.text, ms: round(c.ms, 1) })),
      agents: results.map((r) => ({
        agent: r.agent,
        clientLatencyMs: summarize(r.turns.filter((t) => t.latencyMs !== undefined).map((t) => t.latencyMs!)),
        serverSplit: splitSummary(r.splits),
        turns: r.turns.map((t, i) => ({ ...t, latencyMs: t.latencyMs === undefined ? null : round(t.latencyMs, 1), server: r.splits[i] ?? null })),
        pairing: r.splits.length === r.turns.filter((t) => t.latencyMs !== undefined).length ? 'one stored split per answered question, in order' : `${r.splits.length} splits stored for ${r.turns.length} questions: per-turn pairs are not reliable`,
        heard: r.heard,
        said: r.said,
        greetingMs: r.greetingMs,
        serverCpuS: r.serverCpuS,
        otherProcessesCpuPct: r.otherProcessesCpuPct,
      })),
    },
    serverProblems: results.flatMap((r) => r.serverProblems),
  };
}

export const voiceE2eEmbedded: Benchmark = {
  name: 'voice-e2e-embedded',
  description: 'caller speech end → first agent audio with the embedded engines (Silero, pocketsphinx, espeak-ng), default agent and scripted model',
  run,
};
