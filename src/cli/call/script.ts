import { UsageError } from '../args.ts';

/**
 * What one typed (or scripted) line asks the caller to do. The same grammar serves the keyboard
 * and `--script` files, so a session typed by hand can be saved and replayed.
 *
 *   any text        say it
 *   #1234#          press the keys after the first "#" (here 1 2 3 4 #)
 *   /wait 2s        stay quiet for that long (ms, s or m; a bare number is seconds)
 *   /over 1s text   say text 1 s after the agent's answer to the previous line began: over the
 *                   agent while it still talks (barge-in); /bargein is the same command
 *   /hangup         hang up
 *   (empty)         nothing; in a script, lines starting with "//" are comments
 */
export type CallerAction =
  | { kind: 'say'; text: string }
  | { kind: 'dtmf'; digits: string }
  | { kind: 'wait'; ms: number }
  | OverAction
  | { kind: 'hangup' }
  | { kind: 'none' };

/** `/over`: `text` is said `ms` after the previous line's answer began. */
export interface OverAction {
  kind: 'over';
  ms: number;
  text: string;
}

const DTMF = /^[0-9*#A-D]+$/;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Reads one line; throws `UsageError` (naming the line) when a command is malformed. */
export function parseCallerLine(raw: string): CallerAction {
  const line = raw.trim();
  if (line === '' || line.startsWith('//')) return { kind: 'none' };
  if (line.startsWith('#')) {
    const digits = line.slice(1).replace(/[\s-]/g, '').toUpperCase();
    if (!DTMF.test(digits)) throw new UsageError(`"${line}": after "#" come the keys to press (0-9 * # A-D), e.g. #1234#`);
    return { kind: 'dtmf', digits };
  }
  if (!line.startsWith('/')) return { kind: 'say', text: line };
  const [command, ...rest] = line.slice(1).split(/\s+/);
  switch (command?.toLowerCase()) {
    case 'hangup':
    case 'quit':
      return { kind: 'hangup' };
    case 'wait':
      return { kind: 'wait', ms: parseDuration(rest.join(''), line, '/wait 2s or /wait 500ms') };
    case 'over':
    case 'bargein':
      return parseOver(rest, line);
    default:
      throw new UsageError(`"${line}": unknown command; the commands are /wait <time>, /over <time> <text> and /hangup (text without "/" is spoken)`);
  }
}

/** `/over <time> <text>`: the time is the first word (as /wait's), the text all the rest. */
function parseOver(words: string[], line: string): OverAction {
  const example = '/over 1s stop please';
  const ms = parseDuration(words[0] ?? '', line, example);
  const text = words.slice(1).join(' ');
  if (!text) throw new UsageError(`"${line}": say what to say over the agent after the time, e.g. ${example}`);
  return { kind: 'over', ms, text };
}

function parseDuration(text: string, line: string, example: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/i.exec(text);
  if (!m) throw new UsageError(`"${line}": give a time, e.g. ${example}`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase()]!);
}

/** A script file's lines, checked up front so that a typo fails before the call is placed. */
export function parseScript(text: string): string[] {
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    try {
      parseCallerLine(line);
    } catch (err) {
      throw new UsageError(`line ${i + 1} of the script: ${(err as Error).message}`);
    }
  });
  return lines;
}
