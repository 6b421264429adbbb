import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { TwilioCall } from '../../testing/twilio-call.ts';
import { AgentUtterances, type AgentUtterance, type UtteranceEvent } from './agent-utterances.ts';
import type { HeardUtterance, Recogniser } from './recogniser.ts';

/**
 * Listens to the agent on a call: cuts what plays on the phone into utterances, recognises each
 * as it plays (when a recogniser is given) and reports them in order. The only timer here is the
 * 50 ms poll that hands played audio on and notices an utterance's trailing quiet.
 */
export interface AgentSpeechOptions {
  clock: Clock;
  recogniser?: Recogniser;
  /** Quiet that separates utterances; default 400 ms. */
  gapMs?: number;
  /** Called once per utterance, in order; `text` is undefined without a recogniser. */
  onUtterance: (u: AgentUtterance, text: string | undefined) => void;
}

interface QuietWaiter {
  quietMs: number;
  resolve: () => void;
}

const POLL_MS = 50;

export class AgentSpeech {
  private readonly options: AgentSpeechOptions;
  private readonly utterances: AgentUtterances;
  /** Reports (and their recognition) run one after another, so they come out in order. */
  private reported: Promise<void> = Promise.resolve();
  private waiters: QuietWaiter[] = [];
  private hearing: HeardUtterance | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(options: AgentSpeechOptions) {
    this.options = options;
    this.utterances = new AgentUtterances({ gapMs: options.gapMs ?? 400 });
  }

  /** Follows every stream of `call` (a redirect opens a new one). */
  attach(call: TwilioCall): void {
    call.on('media', (m) => this.utterances.push(m.atMs, m.mulaw));
    call.on('clear', (c) => this.utterances.clear(c.atMs));
    this.schedule();
  }

  /** Runs `fn` once every utterance that ended before now has been reported: keeps the output in order. */
  inOrder(fn: () => void): void {
    this.reported = this.reported.then(fn);
  }

  /** Whether agent speech received so far is still playing at `tMs`. */
  talkingAt(tMs: number): boolean {
    return this.utterances.voicedUntilMs > tMs;
  }

  /**
   * Resolves once the agent has been quiet for `quietMs` (of play time) and every utterance so far
   * has been reported; at once if it has not spoken at all.
   */
  whenQuiet(quietMs: number): Promise<void> {
    if (this.stopped) return this.reported;
    return new Promise((resolve) => {
      this.waiters.push({ quietMs, resolve });
      this.tick();
    });
  }

  /** The call is over: reports what is left, complete or not, and stops polling. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.timer?.cancel();
      this.handle(this.utterances.flush());
      for (const w of this.waiters.splice(0)) w.resolve();
    }
    await this.reported;
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.tick();
      this.schedule();
    }, POLL_MS);
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.options.clock.monotonic();
    this.handle(this.utterances.poll(now));
    const quietFor = now - this.utterances.voicedUntilMs;
    const ready = this.waiters.filter((w) => quietFor >= w.quietMs);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    void this.reported.then(() => ready.forEach((w) => w.resolve()));
  }

  private handle(events: UtteranceEvent[]): void {
    for (const e of events) {
      if (e.type === 'audio') {
        if (this.options.recogniser) (this.hearing ??= this.options.recogniser.begin()).write(e.pcm);
      } else {
        this.report(e.utterance, this.hearing?.finish());
        this.hearing = undefined;
      }
    }
  }

  private report(u: AgentUtterance, text: Promise<string> | undefined): void {
    this.reported = this.reported.then(async () => this.options.onUtterance(u, await text));
  }
}
