import { UsageError } from '../args.ts';
import { parseCallerLine, type CallerAction } from './script.ts';

/** Where the caller's lines come from: the keyboard, a pipe, a script file or a test's array. */
export type LineSource = AsyncIterable<string> | Iterable<string>;

/** What the caller does next; `undefined` when the lines have run out. */
export type NextAction = Exclude<CallerAction, { kind: 'none' }> | undefined;

/**
 * The caller's lines as actions, one at a time. Blank lines and comments are skipped, so that a
 * script reading ahead for an `/over` line sees the next thing the caller does, not the comment
 * before it; a malformed line (possible only when typed or piped: a script file is checked up
 * front) is reported and skipped, so that a typo does not end the call.
 */
export class CallerLines {
  private readonly it: AsyncIterator<string>;
  private readonly warn: (message: string) => void;

  constructor(lines: LineSource, warn: (message: string) => void) {
    this.it = iterate(lines);
    this.warn = warn;
  }

  /** The next action; call it again only once it has resolved. */
  async next(): Promise<NextAction> {
    for (;;) {
      const line = await this.it.next();
      if (line.done) return undefined;
      const action = this.parse(line.value);
      if (action.kind !== 'none') return action;
    }
  }

  /** Lets the source go (readline stops listening); a read still pending is abandoned. */
  close(): void {
    void this.it.return?.()?.catch(() => undefined);
  }

  private parse(line: string): CallerAction {
    try {
      return parseCallerLine(line);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      this.warn(err.message);
      return { kind: 'none' };
    }
  }
}

function iterate(lines: LineSource): AsyncIterator<string> {
  if (Symbol.asyncIterator in lines) return lines[Symbol.asyncIterator]();
  const it = lines[Symbol.iterator]();
  return { next: () => Promise.resolve(it.next()) };
}
