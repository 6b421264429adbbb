import { expect } from 'vitest';
import { OperatorError } from '../../../src/core/errors.ts';

/** `ms` of a 220 Hz tone at `rate`, as the pipeline would hand it to an STT engine. */
export function speech(ms: number, rate = 16_000): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(6_000 * Math.sin((2 * Math.PI * 220 * i) / rate));
  return out;
}

/** The audio in 20 ms frames, as the pipeline writes it. */
export function frames(pcm: Int16Array, rate = 16_000): Int16Array[] {
  const size = (rate * 20) / 1000;
  const out: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += size) out.push(pcm.subarray(i, i + size));
  return out;
}

/** Awaits `promise` and returns what it rejected with, failing the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<OperatorError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorError);
    return err as OperatorError;
  }
  throw new Error('expected a rejection, got a result');
}

/** Runs an async iterable to its end, collecting what it yields (or the error it threw). */
export async function drain<T>(it: AsyncIterable<T>): Promise<{ items: T[]; error?: OperatorError }> {
  const items: T[] = [];
  try {
    for await (const item of it) items.push(item);
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorError);
    return { items, error: err as OperatorError };
  }
  return { items };
}

export function totalSamples(chunks: readonly Int16Array[]): number {
  return chunks.reduce((n, c) => n + c.length, 0);
}

/** Records an STT stream's partials and lets a test await the n-th one. */
export class Partials {
  readonly texts: string[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  readonly push = (text: string): void => {
    this.texts.push(text);
    for (const w of this.waiters.filter((w) => this.texts.length >= w.n)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.texts.length < w.n);
  };

  until(n: number): Promise<void> {
    if (this.texts.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}
