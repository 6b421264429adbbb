import type { Clock } from '../core/clock.ts';

/** What `raceAbort` settles with when the signal wins. */
export const ABORTED = Symbol('aborted');
export type Aborted = typeof ABORTED;

/**
 * Settles with `work`, or with `ABORTED` as soon as `signal` aborts, whichever comes first. The
 * engine never waits on a stage that ignores its signal. `work` is always observed, so its late
 * rejection is not reported as unhandled.
 */
export function raceAbort<T>(work: PromiseLike<T>, signal: AbortSignal): Promise<T | Aborted> {
  if (signal.aborted) {
    work.then(undefined, () => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise<T | Aborted>((resolve, reject) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // Passed on as thrown, not wrapped: the error classifier reads its fields.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(err);
      },
    );
  });
}

export interface Deadline {
  readonly signal: AbortSignal;
  cancel(): void;
}

/**
 * An abort signal that fires after `ms` on the injected clock (DESIGN.md rule 6), so timeouts are
 * tested by advancing a fake clock. `ms <= 0` means no deadline.
 */
export function deadline(clock: Clock, ms: number): Deadline {
  const controller = new AbortController();
  if (!(ms > 0)) return { signal: controller.signal, cancel: () => undefined };
  const timer = clock.setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  );
  return { signal: controller.signal, cancel: () => timer.cancel() };
}
