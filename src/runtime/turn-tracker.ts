/**
 * The main thread's view of the turns of one live conversation: which turn is current, which
 * input batch it answers, and what of it actually reached the customer. Pure bookkeeping, no I/O:
 * the worker decides, this records what was delivered (DESIGN.md rule 3).
 */
export interface TrackedTurn {
  turnId: string;
  /** Sequence number of the newest input this turn answers (0 = greeting / agent-initiated). */
  coverage: number;
  delivered: string;
  interrupted: boolean;
  done: boolean;
  /** Monotonic ms when the input it answers arrived (or when the turn started, if none). */
  inputAtMs: number;
  firstDeltaAtMs?: number;
}

export class TurnTracker {
  private current: TrackedTurn | undefined;
  private lastSentSeq = 0;
  private nextCoverage = 0;
  private readonly inputAt = new Map<number, number>();

  /** Registers a new input batch sent to the worker; returns its sequence number. */
  input(atMs: number): number {
    this.lastSentSeq++;
    this.inputAt.set(this.lastSentSeq, atMs);
    return this.lastSentSeq;
  }

  /** The worker announced that its next turn answers inputs up to `seq`. */
  batch(seq: number): void {
    this.nextCoverage = seq;
  }

  started(turnId: string, nowMs: number): TrackedTurn {
    const coverage = this.nextCoverage;
    this.nextCoverage = 0;
    const turn: TrackedTurn = {
      turnId,
      coverage,
      delivered: '',
      // Superseded already: a newer input went out (with its interrupt) before this turn started.
      interrupted: coverage < this.lastSentSeq,
      done: false,
      inputAtMs: this.inputAt.get(coverage) ?? nowMs,
    };
    for (const seq of this.inputAt.keys()) if (seq <= coverage) this.inputAt.delete(seq);
    this.current = turn;
    return turn;
  }

  /** The live (not interrupted, not done) turn with this id, if any. */
  live(turnId: string): TrackedTurn | undefined {
    const t = this.current;
    return t && t.turnId === turnId && !t.interrupted && !t.done ? t : undefined;
  }

  /** The turn with this id whatever its state (for the late `turn.done` of an interrupted turn). */
  get(turnId: string): TrackedTurn | undefined {
    return this.current?.turnId === turnId ? this.current : undefined;
  }

  /** The turn that is answering right now, if any. */
  active(): TrackedTurn | undefined {
    const t = this.current;
    return t && !t.interrupted && !t.done ? t : undefined;
  }

  /** Whether input was sent that no started turn has picked up yet. */
  inputInFlight(): boolean {
    return (this.current?.coverage ?? 0) < this.lastSentSeq;
  }
}
