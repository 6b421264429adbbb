/**
 * Caller audio waiting to fill a VAD window, as float samples in -1..1 (what the models take).
 * Grows only when more than its capacity arrives at once, so a live stream allocates nothing here;
 * a long clip is consumed window by window without moving the rest of it each time.
 */
export class WindowQueue {
  readonly windowSamples: number;
  private buf: Float32Array;
  /** Waiting samples are buf[start, end). */
  private start = 0;
  private end = 0;

  constructor(windowSamples: number) {
    this.windowSamples = windowSamples;
    this.buf = new Float32Array(windowSamples * 4);
  }

  /** Complete windows waiting. */
  get windows(): number {
    return Math.floor((this.end - this.start) / this.windowSamples);
  }

  append(pcm: Int16Array): void {
    if (this.end + pcm.length > this.buf.length) this.makeRoom(pcm.length);
    const buf = this.buf;
    const offset = this.end;
    for (let i = 0; i < pcm.length; i++) buf[offset + i] = pcm[i]! / 32768;
    this.end += pcm.length;
  }

  /** Copies the oldest complete window into `target` at `offset` and drops it. Requires `windows > 0`. */
  takeInto(target: Float32Array, offset: number): void {
    const next = this.start + this.windowSamples;
    target.set(this.buf.subarray(this.start, next), offset);
    this.start = next;
    if (this.start === this.end) this.clear();
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  private makeRoom(incoming: number): void {
    const waiting = this.end - this.start;
    const needed = waiting + incoming;
    if (needed <= this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const grown = new Float32Array(Math.max(needed, this.buf.length * 2));
      grown.set(this.buf.subarray(this.start, this.end));
      this.buf = grown;
    }
    this.start = 0;
    this.end = waiting;
  }
}
