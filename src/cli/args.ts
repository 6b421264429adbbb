import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The option table, printed by --help. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

export class UsageError extends Error {}

export function parseCommand(cmd: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: cmd.allowPositionals ?? false,
      strict: true,
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\nUsage: ${cmd.usage}\nRun "operator ${cmd.name} --help" for details.`);
  }
}

export function commandHelp(cmd: Command): string {
  return `Usage: ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trim()}\n  -h, --help             Show this help\n`;
}
