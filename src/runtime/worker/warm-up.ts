import { defaultVoiceSettings } from '../../config/voice-schema.ts';
import type { AgentSpec } from '../../core/agent.ts';
import { systemClock } from '../../core/clock.ts';
import type { Conversation, Item } from '../../core/conversation.ts';
import { createSession } from '../../engine/index.ts';
import { createModel } from '../../models/index.ts';
import { pcm16ToMulaw } from '../../voice/codec.ts';
import { TWILIO_AUDIO } from '../../voice/pipeline/carrier-audio.ts';
import { VoicePipeline } from '../../voice/pipeline/pipeline.ts';
import { ScriptedStt, ScriptedTts } from '../../voice/scripted.ts';
import { Endpointer } from '../../voice/turn-taking/endpointing.ts';
import { EnergyVad, SpeechDetector } from '../../voice/vad/index.ts';

/** The longest a warm-up may hold up a worker's `ready`. */
const WARM_UP_LIMIT_MS = 1_000;

/** An agent with a scripted model whose answer has numbers, a time and two sentences. */
function warmUpAgent(): AgentSpec {
  return {
    id: 'warm-up',
    name: 'Warm-up',
    instructions: 'Warm-up.',
    model: { provider: 'scripted', loop: true, steps: [{ deltas: ['Your order A12345 shipped on March 3rd. ', 'It arrives at 10:30 am, okay?'] }] },
    modelSettings: {},
    tools: [],
    maxSteps: 2,
    turnTimeoutMs: WARM_UP_LIMIT_MS,
    channelStyle: {},
    async: { inactivityTimeoutMs: { sms: 1, email: 1, chat: 1 }, debounceMs: { sms: 0, email: 0, chat: 0 } },
    memory: { recallWindowMs: 0, tokenBudget: 0, verbatimTurns: 0, retentionMs: 0 },
    voice: { ...defaultVoiceSettings(), maxDurationMs: 0 },
  };
}

/**
 * Runs one scripted voice turn through this worker's own code before the worker reports ready.
 *
 * V8 compiles a function the first time it runs, so the first turn of every call paid for
 * compiling the engine's turn loop, the sentence splitter, the speakable-text rules, the TTS
 * framing and the playout: the voice overhead benchmark's tail was that first turn (p95 7.5 ms
 * with it, 4.3 ms without, at 50 calls). Pooled workers are started ahead of need, so the cost
 * (~20-40 ms of CPU) is paid while nobody waits. Nothing leaves the worker: the pipeline's host
 * is a sink, and the session has no store, tools or network.
 */
export async function warmUp(): Promise<{ reachedAudio: boolean }> {
  const clock = systemClock;
  const now = clock.now();
  const agent = warmUpAgent();
  const conversation: Conversation = { id: 'warm-up', agent: agent.id, channel: 'voice', mode: 'realtime', status: 'active', context: {}, createdAt: now, updatedAt: now };
  const vad = new EnergyVad({ sampleRate: 16_000 });
  const tts = new ScriptedTts({ clock });
  let reachedAudio = false;
  let heard!: () => void;
  const firstAudio = new Promise<void>((resolve) => (heard = resolve));
  const pipeline = new VoicePipeline({
    settings: agent.voice,
    carrier: TWILIO_AUDIO,
    tts,
    listener: {
      vad,
      detector: new SpeechDetector({ windowMs: vad.windowMs }),
      endpointer: new Endpointer(),
      stt: new ScriptedStt({ transcripts: ['where is my order'], clock }),
    },
    clock,
    host: {
      audioOut: () => {
        reachedAudio = true;
        heard();
      },
      mark: () => undefined,
      clear: () => undefined,
      transcript: () => undefined,
      utterance: () => undefined,
      bargeIn: () => undefined,
      engineEvent: () => undefined,
      interruptTurn: () => undefined,
      sayLine: () => undefined,
      error: () => undefined,
      log: () => undefined,
    },
  });
  const session = createSession({
    agent,
    conversation,
    history: [],
    model: createModel(agent.model, { agent, clock }),
    functions: {},
    clock,
    emit: (event) => pipeline.onEngineEvent(event),
  });
  let limit: ReturnType<typeof setTimeout> | undefined;
  try {
    // The caller's side: a second of a tone, then silence, as 20 ms μ-law frames.
    for (let i = 0; i < 50; i++) {
      const pcm = new Int16Array(160);
      if (i < 40) for (let s = 0; s < pcm.length; s++) pcm[s] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * 160 + s)) / 8000));
      pipeline.audioIn(pcm16ToMulaw(pcm));
    }
    const user: Item = { id: 'warm-up-1', conversationId: conversation.id, role: 'user', type: 'message', text: 'Where is my order A12345?', interrupted: false, createdAt: now };
    const turn = session.runTurn([user]);
    const timeout = new Promise<void>((resolve) => (limit = setTimeout(resolve, WARM_UP_LIMIT_MS)));
    await Promise.race([firstAudio, timeout]);
    session.interrupt('BargeIn');
    pipeline.stopSpeaking();
    await Promise.race([turn.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(limit);
    session.close();
    pipeline.close();
    await vad.close();
  }
  return { reachedAudio };
}
