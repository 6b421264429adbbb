import type { TwilioCall } from '../../src/testing/twilio-call.ts';
import { TwilioSimulator } from '../../src/testing/twilio-simulator.ts';
import { spawnAsyncServer, type AsyncBenchServer } from './async-server.ts';
import { getConversation, phoneOf, twilioEnv, type ConversationJson } from './async-sms.ts';
import { sleep } from './fleet.ts';

/**
 * The phone side of the voice benchmarks: the server (`operator start`, its own process) with one
 * voice agent on a number, Twilio pointed at a TwilioSimulator in the bench process, and callers
 * placed through the simulator (signed webhook, then a Media Stream with real-time μ-law both
 * ways, exactly as test/voice/twilio-call.test.ts does it in-process).
 */

export const VOICE_AGENT = 'bench';
/** The number callers dial (config `channels.voice`). */
export const AGENT_NUMBER = '+15557654321';
/** Said when a call connects: its audio arriving proves the call's pipeline is up. */
export const GREETING = 'Hi.';

export interface VoiceAgentOptions {
  vad: 'energy' | 'silero';
  /** Default: scripted, zero latency, recognising `transcripts` in order. */
  stt?: object;
  /** Default: scripted, zero latency (a 440 Hz tone, 60 ms per character). */
  tts?: object;
  /** Default: the scripted model answering `answer` at once, looping. */
  model?: object;
  transcripts?: string[];
  answer?: string[];
  greeting?: string | null;
  /** Extra keys of the agent's `voice:` block (interruption, endpointing…). */
  voice?: object;
  /** Extra keys of the agent (tools, instructions…). */
  agent?: object;
}

/** The server's config: one voice agent; no silence re-prompts or call time limit (they would add turns). */
export function voiceConfig(opts: { poolSize: number; maxWorkers?: number; agent: VoiceAgentOptions; logLevel?: string }): object {
  const a = opts.agent;
  // BENCH_WARM_UP=0 runs the server without the workers' warm-up turn (pool.warmUp), to compare.
  const warmUp = process.env.BENCH_WARM_UP === '0' ? { warmUp: false } : {};
  return {
    pool: { size: opts.poolSize, ...warmUp, ...(opts.maxWorkers ? { maxWorkers: opts.maxWorkers } : {}) },
    limits: { rateLimitPerMinute: 1_000_000, sessionsPerIp: 100_000 },
    logging: { level: opts.logLevel ?? 'info' },
    channels: { voice: [{ number: AGENT_NUMBER, agent: VOICE_AGENT }] },
    agents: {
      [VOICE_AGENT]: {
        instructions: 'You are a benchmark agent.',
        ...(a.greeting === null ? {} : { greeting: a.greeting ?? GREETING }),
        model: a.model ?? { provider: 'scripted', steps: [{ deltas: a.answer ?? ['Sure.'] }], loop: true },
        voice: {
          stt: a.stt ?? { engine: 'scripted', transcripts: a.transcripts ?? [], latencyMs: 0 },
          tts: a.tts ?? { engine: 'scripted', latencyMs: 0 },
          vad: { engine: a.vad },
          silence: { reprompt: 0, hangup: 0 },
          maxDuration: 0,
          ...a.voice,
        },
        ...a.agent,
      },
    },
  };
}

export interface VoiceBench {
  sim: TwilioSimulator;
  server: AsyncBenchServer;
  close(): Promise<void>;
}

/** Starts the simulator, then the server pointed at it. */
export async function startVoiceBench(config: object, nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<VoiceBench> {
  const sim = await TwilioSimulator.start();
  let server: AsyncBenchServer;
  try {
    server = await spawnAsyncServer({ config, env: { ...twilioEnv(sim), ...env }, nodeArgs });
  } catch (err) {
    await sim.close();
    throw err;
  }
  const publicUrl = twilioEnv(sim).OPERATOR_PUBLIC_URL!;
  sim.useServer({ serverUrl: server.url, publicUrl });
  return {
    sim,
    server,
    async close() {
      await Promise.race([sim.close(), sleep(10_000)]).catch(() => undefined);
      await server.stop();
    },
  };
}

export interface PlacedCall {
  index: number;
  phone: string;
  call: TwilioCall;
  /** Webhook POST → greeting audio received at the simulator, ms. */
  connectMs: number;
}

/**
 * Places `n` inbound calls, `lanes` at a time; each counts as placed once its greeting's first
 * audio reached the simulator (the call's worker, engines and pipeline are up). `first` numbers
 * the callers (their phone numbers, so each call is its own customer).
 */
export async function placeCalls(bench: VoiceBench, n: number, lanes: number, first = 0, greetingTimeoutMs = 60_000): Promise<PlacedCall[]> {
  const placed: PlacedCall[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const index = first + next++;
      const phone = phoneOf(index);
      const t0 = performance.now();
      const call = await bench.sim.placeInboundCall({ from: phone, to: AGENT_NUMBER });
      await call.waitForAudio(0, greetingTimeoutMs);
      placed.push({ index, phone, call, connectMs: performance.now() - t0 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, n) }, lane));
  return placed.sort((a, b) => a.index - b.index);
}

/** The caller's conversation (GET /v1/customers?phone=…, then the customer's latest conversation). */
export async function conversationOfCaller(url: string, phone: string): Promise<ConversationJson> {
  const found = (await (await fetch(`${url}/v1/customers?phone=${encodeURIComponent(phone)}`)).json()) as { data: { id: string }[] };
  const customer = found.data[0];
  if (!customer) throw new Error(`no customer with phone ${phone}`);
  const c = (await (await fetch(`${url}/v1/customers/${customer.id}`)).json()) as { conversations: { id: string }[] };
  const conv = c.conversations[0];
  if (!conv) throw new Error(`customer ${phone} has no conversation`);
  return getConversation(url, conv.id);
}

/** The per-turn split the server stores on each agent message that answered the caller's speech. */
export interface VoiceSplit {
  totalMs: number;
  endpointingMs: number;
  sttFinalMs: number;
  modelFirstTokenMs: number;
  sentenceMs: number;
  ttsFirstAudioMs: number;
  overheadMs: number;
}

export function voiceSplits(conv: ConversationJson): VoiceSplit[] {
  return conv.items
    .filter((i) => i.role === 'agent' && i.type === 'message' && i.metrics?.endpointingMs !== undefined)
    .map((i) => i.metrics as unknown as VoiceSplit);
}

/** Waits until the caller's conversation holds `turns` answered turns (the last one is stored once heard). */
export async function waitForSplits(url: string, phone: string, turns: number, timeoutMs = 20_000): Promise<VoiceSplit[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const splits = voiceSplits(await conversationOfCaller(url, phone));
    if (splits.length >= turns || performance.now() > deadline) return splits;
    await sleep(200);
  }
}

/** Hangs up every call still up, tolerating calls that already ended. */
export async function hangUpAll(calls: readonly PlacedCall[]): Promise<void> {
  await Promise.all(calls.filter((c) => !c.call.isOver).map((c) => c.call.hangUp().catch(() => undefined)));
}
