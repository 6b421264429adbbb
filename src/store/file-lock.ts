const tails = new Map<string, Promise<void>>();

/**
 * Serialises the write transactions of every store this process has open on one SQLite file.
 * `node:sqlite` is synchronous: if two handles of one thread interleave their transactions, the
 * second `BEGIN IMMEDIATE` blocks the whole thread in `busy_timeout` waiting for a lock that only
 * this same thread could release, then fails. Waiting here instead is asynchronous. Other
 * processes are kept apart by SQLite's own file lock.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(file) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(file, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(file) === tail) tails.delete(file);
  }
}
