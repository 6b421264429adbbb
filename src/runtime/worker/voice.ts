import type { Transferable } from 'node:worker_threads';
import type { AgentSpec } from '../../core/agent.ts';
import type { Clock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { AbortReasonKind, EngineEvent } from '../../core/events.ts';
import { builtinToolSpecs, collectDigitsExamples, transferCallExamples, type CallControls } from '../../engine/index.ts';
import { createSpeechEngines, type SpeechEngines } from '../../voice/engines.ts';
import { VoicePipeline } from '../../voice/pipeline/pipeline.ts';
import type { FromWorker, VoiceActivation } from './protocol.ts';

/** What the call's worker loop offers the voice pipeline. */
export interface VoiceLoop {
  send(m: FromWorker, transfer?: Transferable[]): void;
  /** Forward an engine event to the main thread. */
  forward(event: EngineEvent): void;
  interrupt(kind: AbortReasonKind, delivered: { turnId: string; text: string }): void;
  /** Queue a fixed line as a turn (re-prompt, goodbye). */
  sayLine(text: string, end?: string): void;
}

/** A call's pipeline and engines inside its worker. */
export class VoiceCall {
  readonly pipeline: VoicePipeline;
  readonly call: CallControls;
  private readonly engines: SpeechEngines;

  private constructor(pipeline: VoicePipeline, engines: SpeechEngines, call: CallControls) {
    this.pipeline = pipeline;
    this.engines = engines;
    this.call = call;
  }

  static async start(agent: AgentSpec, activation: VoiceActivation, clock: Clock, loop: VoiceLoop): Promise<VoiceCall> {
    const settings = agent.voice;
    const engines = await createSpeechEngines(settings, {
      clock,
      phrases: agentPhrases(agent),
      codePatterns: codePatterns(agent),
      // Twilio's 8 kHz μ-law has nothing above 4 kHz; the browser's 16 kHz PCM has.
      band: activation.carrier.sampleRate <= 8000 ? 'phone' : 'wide',
      ...(activation.espeak ? { espeakPort: activation.espeak } : {}),
    });
    for (const note of engines.notes) loop.send({ t: 'log', level: 'warn', msg: note });
    const pipeline = new VoicePipeline({
      settings,
      carrier: activation.carrier,
      tts: engines.tts,
      listener: { vad: engines.vad, detector: engines.detector, endpointer: engines.endpointer, stt: engines.stt },
      clock,
      host: {
        // Copied, not transferred: the playout keeps each frame to replay it after a false interruption.
        audioOut: (data) => loop.send({ t: 'audio.out', data }),
        mark: (name) => loop.send({ t: 'audio.mark', name }),
        clear: () => loop.send({ t: 'audio.clear' }),
        transcript: (text, final) => loop.send({ t: 'transcript', text, final }),
        utterance: (text) => loop.send({ t: 'utterance', text }),
        bargeIn: (turnId, heard) => loop.send({ t: 'barge-in', turnId, heard }),
        engineEvent: (event) => loop.forward(event),
        interruptTurn: (turnId, heard) => loop.interrupt('BargeIn', { turnId, text: heard }),
        sayLine: (text, end) => loop.sayLine(text, end),
        error: (code, message) => loop.send({ t: 'error', code, message }),
        log: (level, msg, fields) => loop.send({ t: 'log', level, msg, ...(fields ? { fields } : {}) }),
      },
    });
    const call: CallControls = {
      targets: settings.transfer,
      canTransfer: activation.canTransfer,
      hasKeypad: activation.hasKeypad,
      collectDigits: (request, signal) => pipeline.collectDigits(request, signal),
    };
    return new VoiceCall(pipeline, engines, call);
  }

  /** Stops the pipeline and frees the engines (native decoders must be freed before the thread goes). */
  close(): Promise<void> {
    this.pipeline.close();
    return this.engines.close().catch((err: unknown) => void errorMessage(err));
  }
}

/** The `pattern` of every string parameter of the agent's tools (order ids, account numbers…). */
function codePatterns(agent: AgentSpec): string[] {
  const out: string[] = [];
  for (const tool of agent.tools) {
    const properties = (tool.parameters as { properties?: Record<string, { type?: unknown; pattern?: unknown }> }).properties ?? {};
    for (const prop of Object.values(properties)) if (typeof prop.pattern === 'string') out.push(prop.pattern);
  }
  return out;
}

/** What callers of this agent are likely to say: its tools' examples (built-ins included), greeting, transfer targets. */
function agentPhrases(agent: AgentSpec): string[] {
  const targets = Object.entries(agent.voice.transfer).flatMap(([name, t]) => [name, `transfer me to ${name}`, t.description ?? '']);
  const builtins = builtinToolSpecs().flatMap((t) => t.examples);
  const call = [...transferCallExamples(), ...collectDigitsExamples()];
  return [...agent.tools.flatMap((t) => [...t.examples, t.name.replace(/[_-]+/g, ' ')]), ...builtins, ...call, ...targets, agent.greeting ?? '', agent.name].filter(Boolean);
}
