import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { DigitRequest, DigitResult } from '../../core/voice.ts';

interface Pending {
  request: DigitRequest;
  digits: string;
  done: (r: DigitResult) => void;
  promptHeard: () => boolean;
  timer?: TimerHandle;
}

/**
 * `collect_digits`: takes key presses until the count, the terminator, or a timeout that starts
 * once the prompt has been heard and restarts at every key. Keys pressed while the prompt still
 * plays count (callers type ahead).
 */
export class DigitCollector {
  private readonly clock: Clock;
  private pending: Pending | undefined;
  private waitTimer: TimerHandle | undefined;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  get collecting(): boolean {
    return this.pending !== undefined;
  }

  collect(request: DigitRequest, signal: AbortSignal, promptHeard: () => boolean): Promise<DigitResult> {
    this.cancel();
    const { promise, resolve, reject } = Promise.withResolvers<DigitResult>();
    const onAbort = () => {
      this.clear();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    if (signal.aborted) {
      onAbort();
      return promise;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.pending = {
      request,
      digits: '',
      promptHeard,
      done: (r) => {
        signal.removeEventListener('abort', onAbort);
        this.clear();
        resolve(r);
      },
    };
    this.armWhenHeard();
    return promise;
  }

  /** A key press; true when a collection took it. */
  offer(digit: string): boolean {
    const p = this.pending;
    if (!p) return false;
    if (p.request.terminator !== undefined && digit === p.request.terminator) {
      p.done({ digits: p.digits, complete: true });
      return true;
    }
    p.digits += digit;
    if (p.request.count !== undefined && p.digits.length >= p.request.count) {
      p.done({ digits: p.digits, complete: true });
      return true;
    }
    this.arm(p);
    return true;
  }

  cancel(): void {
    this.pending?.done({ digits: this.pending.digits, complete: false });
  }

  /** Polls (every 100 ms) until the prompt has been heard, then starts the timeout. */
  private armWhenHeard(): void {
    const p = this.pending;
    if (!p) return;
    if (p.promptHeard()) {
      this.arm(p);
      return;
    }
    this.waitTimer = this.clock.setTimeout(() => this.armWhenHeard(), 100);
  }

  private arm(p: Pending): void {
    p.timer?.cancel();
    this.waitTimer?.cancel();
    p.timer = this.clock.setTimeout(() => p.done({ digits: p.digits, complete: false }), p.request.timeoutMs);
  }

  private clear(): void {
    this.pending?.timer?.cancel();
    this.waitTimer?.cancel();
    this.pending = undefined;
  }
}
