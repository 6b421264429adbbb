import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage, type OperatorError } from '../../core/errors.ts';
import type { EngineEvent } from '../../core/events.ts';
import type { VoiceSettings } from '../../core/voice.ts';
import { BargeInPolicy, type BargeInDecision } from '../turn-taking/interruption.ts';
import { isBackchannel } from '../turn-taking/interruption.ts';
import { InboundAudio, OutboundFramer, type CarrierAudio } from './carrier-audio.ts';
import type { DigitRequest, DigitResult } from '../../core/voice.ts';
import { DigitCollector } from './digits.ts';
import { Listener, type ListenerOptions } from './listener.ts';
import { TurnLatency } from './latency.ts';
import { Playout } from './playout.ts';
import { Speaker } from './speaker.ts';
import type { TtsEngine } from '../types.ts';

/** What the pipeline asks of its host (the call's worker): the transport, the main thread, the engine. */
export interface PipelineHost {
  audioOut(frame: Uint8Array): void;
  mark(name: string): void;
  clear(): void;
  /** Caller transcript as it forms (browser `user.transcript`). */
  transcript(text: string, final: boolean): void;
  /** The caller's turn, to be stored and answered. */
  utterance(text: string): void;
  /** Barge-in committed: the turn was cut at `heard` (the engine has already been told). */
  bargeIn(turnId: string, heard: string): void;
  /** Engine events, with `agent.delta` now meaning "heard" and `turn.done` held until heard. */
  engineEvent(event: EngineEvent): void;
  /** Abort the engine's turn and cut its message to `heard`. */
  interruptTurn(turnId: string, heard: string): void;
  /** Say a fixed line as a turn; with `end`, end the call after it. */
  sayLine(text: string, end?: string): void;
  error(code: string, message: string): void;
  log(level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

export interface PipelineOptions {
  settings: VoiceSettings;
  carrier: CarrierAudio;
  tts: TtsEngine;
  listener: Omit<ListenerOptions, 'events' | 'clock'>;
  clock: Clock;
  host: PipelineHost;
}

const MAX_DURATION_LINE = "I'm sorry, we've reached the time limit for this call. Goodbye!";

/**
 * One call's voice pipeline, inside its worker: listener (VAD → STT → endpointing), speaker (TTS →
 * playout), barge-in policy, key presses, silence re-prompts and the call's time limit. It sits
 * between the engine and the transport: it turns the engine's text into paced audio and reports
 * back only what the caller heard (DESIGN.md rule 3).
 */
export class VoicePipeline {
  private readonly o: PipelineOptions;
  private readonly inbound: InboundAudio;
  private readonly playout: Playout;
  private readonly speaker: Speaker;
  private readonly listener: Listener;
  private readonly policy: BargeInPolicy;
  private readonly collector: DigitCollector;
  private readonly latency = new TurnLatency();
  /** Resolves when the latest turn's speech has been heard: `conversation.end` waits for it. */
  private spoken: Promise<void> = Promise.resolve();
  private agentSpeaking = false;
  private silenceTimer: TimerHandle | undefined;
  private readonly maxTimer: TimerHandle | undefined;
  private lastCallerActivity: number;
  private badFrames = 0;
  private reprompting = false;
  /**
   * `interruption.enabled: false`: a caller turn that ended while the agent was talking, kept until
   * the agent has finished (as a new turn it would cut the answer: the runtime interrupts the
   * answering turn for every new caller message).
   */
  private held: string[] = [];
  private closed = false;

  constructor(opts: PipelineOptions) {
    this.o = opts;
    const { clock, host, settings } = opts;
    this.inbound = new InboundAudio(opts.carrier);
    this.playout = new Playout({
      clock,
      sink: { frame: (f) => host.audioOut(f), mark: (n) => host.mark(n), clear: () => host.clear() },
      onHeard: (frames) => this.speaker.onHeard(frames),
    });
    this.speaker = new Speaker({
      tts: opts.tts,
      playout: this.playout,
      newFramer: () => new OutboundFramer(opts.carrier, opts.tts.sampleRate),
      clock,
      ...(voiceOf(settings) ? { voice: voiceOf(settings)! } : {}),
      onHeard: (turnId, text) => host.engineEvent({ type: 'agent.delta', turnId, text }),
      onError: (turnId, err) => this.onTtsError(turnId, err),
    });
    this.listener = new Listener({ ...opts.listener, clock, events: this.listenerEvents() });
    this.policy = new BargeInPolicy({
      minSpeechMs: settings.interruption.minSpeechMs,
      backchannelWords: settings.interruption.backchannels,
      falseInterruptionMs: settings.interruption.falseInterruptionMs,
    });
    this.collector = new DigitCollector(clock);
    this.lastCallerActivity = clock.monotonic();
    if (settings.maxDurationMs > 0) {
      this.maxTimer = clock.setTimeout(() => this.o.host.sayLine(MAX_DURATION_LINE, 'max_duration'), settings.maxDurationMs);
    }
  }

  /** Carrier audio from the caller. A malformed frame is dropped and counted, never fatal. */
  audioIn(bytes: Uint8Array): void {
    if (this.closed) return;
    let pcm: Int16Array;
    try {
      pcm = this.inbound.decode(bytes);
    } catch (err) {
      if (this.badFrames++ % 50 === 0) this.o.host.log('warn', 'dropped a malformed audio frame', { err: errorMessage(err), count: this.badFrames });
      return;
    }
    this.listener.push(pcm);
    this.updateSpeaking();
    this.apply(this.policy.poll(this.o.clock.monotonic()));
    // Speech that made no turn (a cough, a backchannel, nothing recognised) leaves the silence timer off.
    if (!this.silenceTimer && !this.speaker.speaking && !this.listener.busy) this.armSilence();
  }

  markPlayed(name: string): void {
    this.playout.markPlayed(name);
    this.updateSpeaking();
  }

  /** A key press (already stored). Returns true when `collect_digits` took it. */
  dtmf(digit: string): boolean {
    this.lastCallerActivity = this.o.clock.monotonic();
    this.armSilence();
    if (this.collector.offer(digit)) return true;
    if (this.speaker.speaking) this.commitBargeIn();
    return false;
  }

  collectDigits(request: DigitRequest, signal: AbortSignal): Promise<DigitResult> {
    // The timeout runs from when the prompt (this turn's speech so far) has been heard.
    return this.collector.collect(request, signal, () => this.speaker.caughtUp);
  }

  /** The engine's events for this call. */
  onEngineEvent(e: EngineEvent): void {
    const { host, clock } = this.o;
    switch (e.type) {
      case 'turn.started':
        this.disarmSilence();
        if (this.speaker.speaking) this.speaker.stop();
        this.speaker.begin(e.turnId);
        this.latency.turnStarted(e.turnId, clock.monotonic());
        host.engineEvent(e);
        return;
      case 'agent.delta':
        this.latency.firstToken(e.turnId, clock.monotonic());
        this.speaker.delta(e.turnId, e.text);
        this.updateSpeaking();
        return;
      case 'turn.done':
        this.onTurnDone(e);
        return;
      case 'conversation.end':
        void this.spoken.then(() => host.engineEvent(e));
        return;
      case 'tool.started':
        // "Let me check that": said while the tool runs, not after it.
        this.speaker.flushText(e.turnId);
        host.engineEvent(e);
        return;
      default:
        host.engineEvent(e);
    }
  }

  /** Interrupted from outside (a typed message, the end of the call): drop the speech. */
  stopSpeaking(): void {
    this.speaker.stop();
    this.updateSpeaking();
  }

  close(): void {
    this.closed = true;
    this.disarmSilence();
    this.maxTimer?.cancel();
    this.speaker.stop();
    this.playout.close();
    this.listener.close();
    this.collector.cancel();
  }

  private onTurnDone(e: Extract<EngineEvent, { type: 'turn.done' }>): void {
    const { host, clock } = this.o;
    if (e.interrupted || this.speaker.currentTurn !== e.turnId) {
      host.engineEvent(e);
      this.releaseHeld();
      return;
    }
    const times = this.speaker.times;
    this.spoken = this.speaker.finish(e.turnId).then(() => {
      const voice = this.latency.finish(e.turnId, times);
      host.engineEvent(voice ? { ...e, voice } : e);
      this.updateSpeaking();
      // After the turn's end: as a new turn before it, it would cut the answer just heard in full.
      this.releaseHeld();
      // A re-prompt does not restart the silence it is about.
      if (!this.reprompting) this.lastCallerActivity = Math.max(this.lastCallerActivity, clock.monotonic());
      this.reprompting = false;
      this.armSilence();
    });
  }

  private listenerEvents(): ListenerOptions['events'] {
    const { host, clock } = this.o;
    return {
      speechStart: (at) => {
        this.lastCallerActivity = at;
        this.disarmSilence();
        this.apply(this.policy.speechStart(at));
      },
      speechEnd: (at) => {
        this.lastCallerActivity = at;
        this.apply(this.policy.speechEnd(at));
        this.armSilence();
      },
      transcript: (text, final) => {
        host.transcript(text, final);
        this.apply(this.policy.transcript(text, final, clock.monotonic()));
      },
      utterance: (text, times) => {
        // A backchannel said over the agent ("uh-huh") is not a turn of its own.
        if (this.speaker.speaking && isBackchannel(text, this.o.settings.interruption.backchannels)) {
          host.log('debug', 'backchannel while the agent spoke', { pii: { text } });
          return;
        }
        if (!this.o.settings.interruption.enabled && this.speaker.speaking) {
          this.held.push(text);
          return;
        }
        this.latency.utterance(times);
        host.utterance(text);
      },
      sttError: (message) => host.error('stt_failed', `speech recognition failed: ${message}`),
    };
  }

  private apply(decisions: readonly BargeInDecision[]): void {
    if (!this.o.settings.interruption.enabled) return;
    for (const d of decisions) {
      if (d.type === 'pause') {
        this.playout.pause();
      } else if (d.type === 'resume') {
        this.playout.resume();
      } else if (d.type === 'interrupt') {
        this.commitBargeIn();
      }
    }
  }

  private commitBargeIn(): void {
    const cut = this.speaker.cut();
    this.updateSpeaking();
    if (!cut) return;
    this.o.host.interruptTurn(cut.turnId, cut.heard);
    this.o.host.bargeIn(cut.turnId, cut.heard);
  }

  private updateSpeaking(): void {
    const speaking = this.speaker.speaking;
    if (speaking === this.agentSpeaking) return;
    this.agentSpeaking = speaking;
    this.apply(this.policy.agentSpeaking(speaking, this.o.clock.monotonic()));
  }

  /** The caller's turns held while the agent spoke, as one turn once its answer has ended. */
  private releaseHeld(): void {
    if (this.held.length === 0 || this.closed || this.speaker.speaking) return;
    const text = this.held.join(' ');
    this.held = [];
    const now = this.o.clock.monotonic();
    // Its latency counts from now: the wait for the agent to finish is not the answer's.
    this.latency.utterance({ speechEndAt: now, endOfTurnAt: now, sttFinalAt: now });
    this.o.host.utterance(text);
  }

  /** The rest of the answer cannot be spoken: the turn ends at what was heard, as after a barge-in (rule 3). */
  private onTtsError(turnId: string, err: OperatorError): void {
    this.o.host.log('warn', 'speech synthesis failed', { turnId, code: err.code, err: err.message });
    this.o.host.error(err.code, err.message);
    if (this.speaker.currentTurn !== turnId) return;
    const cut = this.speaker.cut();
    this.updateSpeaking();
    if (!cut) return;
    this.o.host.interruptTurn(cut.turnId, cut.heard);
    this.o.host.bargeIn(cut.turnId, cut.heard);
    this.releaseHeld();
    this.armSilence();
  }

  /** Re-prompt a silent caller, then end the call politely (voice.silence). */
  private armSilence(): void {
    this.disarmSilence();
    const { silence } = this.o.settings;
    if (this.closed || this.speaker.speaking || this.listener.busy || silence.repromptMs <= 0) return;
    this.silenceTimer = this.o.clock.setTimeout(() => {
      this.silenceTimer = undefined;
      if (this.speaker.speaking || this.listener.busy) return;
      const silentFor = this.o.clock.monotonic() - this.lastCallerActivity;
      this.reprompting = true;
      if (silence.hangupMs > 0 && silentFor + silence.repromptMs > silence.hangupMs) this.o.host.sayLine(silence.goodbyeText, 'silence_timeout');
      else this.o.host.sayLine(silence.repromptText);
    }, silence.repromptMs);
  }

  private disarmSilence(): void {
    this.silenceTimer?.cancel();
    this.silenceTimer = undefined;
  }
}

function voiceOf(settings: VoiceSettings): string | undefined {
  return 'voice' in settings.tts ? settings.tts.voice : undefined;
}
