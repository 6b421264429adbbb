import type { Clock, TimerHandle } from '../core/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when a test advances it. Timers fire in due order, synchronously. */
export class FakeClock implements Clock {
  private nowMs: number;
  private mono = 0;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  monotonic(): number {
    return this.mono;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer: Timer = { at: this.mono + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.mono + ms;
    for (;;) {
      const next = this.timers
        .filter((t) => !t.cancelled && t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs += next.at - this.mono;
      this.mono = next.at;
      next.fn();
    }
    this.nowMs += target - this.mono;
    this.mono = target;
  }

  /** Timers still waiting. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
