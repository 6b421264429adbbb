import { mulawToPcm16 } from '../../voice/codec.ts';

/**
 * Cuts the agent's side of a call into utterances as the caller hears them. The server may send
 * audio faster than real time; the phone plays it in order at 8 kHz from when it arrives (the same
 * model as the simulator's Playout), so each frame's play time is known on arrival. An utterance
 * is voiced audio with no quiet stretch of `gapMs` or more inside it; it is complete once `gapMs`
 * of quiet has played after it. Audio is handed out once it has played, so a recogniser can follow
 * along; a `clear` cuts the utterance where playback stopped and what was not heard is never
 * handed out. No timers: the owner polls with the time.
 */
export interface AgentUtterance {
  /** Play time (monotonic ms) of its first voiced frame. */
  startMs: number;
  /** Play time at which its last voiced frame ended (or playback was cleared). */
  endMs: number;
  /** Cut short by a `clear` (barge-in). */
  interrupted: boolean;
}

/** What `poll` reports, in order: an utterance's audio as it plays (PCM16 at 8 kHz), then its end. */
export type UtteranceEvent = { type: 'audio'; pcm: Int16Array } | { type: 'end'; utterance: AgentUtterance };

export interface AgentUtterancesOptions {
  /** Quiet that separates two utterances; default 400 ms. */
  gapMs?: number;
  /** Frames with an RMS (PCM16 units) below this are quiet; default 64, as the simulator's. */
  silenceRms?: number;
}

interface Frame {
  startMs: number;
  pcm: Int16Array;
}

interface Pending {
  startMs: number;
  /** End of the last voiced frame. */
  voicedEndMs: number;
  /** Frames not yet handed out. */
  frames: Frame[];
  interrupted: boolean;
}

const SAMPLES_PER_MS = 8;
const FRAME_SAMPLES = 160;

const endOf = (f: Frame): number => f.startMs + f.pcm.length / SAMPLES_PER_MS;

export class AgentUtterances {
  private readonly gapMs: number;
  private readonly silenceRms: number;
  private playEndMs = 0;
  /** Not yet complete or not yet reported, oldest first; only the last may still grow. */
  private pending: Pending[] = [];
  private lastVoicedEndMs = -Infinity;

  constructor(options: AgentUtterancesOptions = {}) {
    this.gapMs = options.gapMs ?? 400;
    this.silenceRms = options.silenceRms ?? 64;
  }

  /** Play time at which the last voiced agent audio received so far ends. */
  get voicedUntilMs(): number {
    return this.lastVoicedEndMs;
  }

  /** Agent audio (μ-law) received at `atMs`. */
  push(atMs: number, mulaw: Uint8Array): void {
    const pcm = mulawToPcm16(mulaw);
    let startMs = Math.max(atMs, this.playEndMs);
    for (let at = 0; at < pcm.length; at += FRAME_SAMPLES) {
      const frame = { startMs, pcm: pcm.subarray(at, Math.min(pcm.length, at + FRAME_SAMPLES)) };
      this.add(frame, rms(frame.pcm) >= this.silenceRms);
      startMs = endOf(frame);
    }
    this.playEndMs = startMs;
  }

  /** Playback stopped at `atMs` (a `clear`): what had not played by then is never heard. */
  clear(atMs: number): void {
    this.playEndMs = Math.min(this.playEndMs, atMs);
    this.lastVoicedEndMs = Math.min(this.lastVoicedEndMs, atMs);
    this.pending = this.pending.filter((u) => u.startMs < atMs);
    const cut = this.pending.at(-1);
    if (!cut || cut.voicedEndMs <= atMs) return;
    cut.voicedEndMs = atMs;
    cut.interrupted = true;
    cut.frames = cut.frames.filter((f) => f.startMs < atMs).map((f) => trim(f, atMs));
  }

  /** The audio played by `nowMs` and the utterances complete by then (their trailing quiet has played). */
  poll(nowMs: number): UtteranceEvent[] {
    const events: UtteranceEvent[] = [];
    for (let u = this.pending[0]; u; u = this.pending[0]) {
      const complete = u.interrupted || nowMs >= u.voicedEndMs + this.gapMs;
      const until = complete ? u.voicedEndMs : nowMs;
      while (u.frames[0] && (complete ? u.frames[0].startMs < until : endOf(u.frames[0]) <= until)) {
        events.push({ type: 'audio', pcm: trim(u.frames.shift()!, until).pcm });
      }
      if (!complete) break;
      this.pending.shift();
      events.push({ type: 'end', utterance: { startMs: u.startMs, endMs: u.voicedEndMs, interrupted: u.interrupted } });
    }
    return events;
  }

  /** Everything still pending, as if it had all played (the call ended). */
  flush(): UtteranceEvent[] {
    return this.poll(Infinity);
  }

  private add(frame: Frame, voiced: boolean): void {
    let open = this.pending.at(-1);
    if (open?.interrupted) open = undefined;
    if (voiced && (!open || frame.startMs - open.voicedEndMs >= this.gapMs)) {
      open = { startMs: frame.startMs, voicedEndMs: endOf(frame), frames: [], interrupted: false };
      this.pending.push(open);
    }
    if (!open) return; // quiet before anything was said
    open.frames.push(frame);
    if (voiced) {
      open.voicedEndMs = endOf(frame);
      this.lastVoicedEndMs = open.voicedEndMs;
    }
  }
}

/** The part of `f` before `untilMs`. */
function trim(f: Frame, untilMs: number): Frame {
  const keep = Math.max(0, Math.round((untilMs - f.startMs) * SAMPLES_PER_MS));
  return keep >= f.pcm.length ? f : { startMs: f.startMs, pcm: f.pcm.subarray(0, keep) };
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return pcm.length ? Math.sqrt(sum / pcm.length) : 0;
}
