import { errorMessage, isOperatorError } from '../core/errors.ts';
import { commandHelp, parseCommand, UsageError, type Command } from './args.ts';
import { callCommand } from './commands/call.ts';
import { chatCommand } from './commands/chat.ts';
import { doctorCommand } from './commands/doctor.ts';
import { emailCommand } from './commands/email.ts';
import { migrateCommand } from './commands/migrate.ts';
import { smsCommand } from './commands/sms.ts';
import { startCommand } from './commands/start.ts';

const COMMANDS: Command[] = [startCommand, chatCommand, callCommand, migrateCommand, smsCommand, emailCommand, doctorCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: operator <command> [options]',
    '',
    'Operator runs conversational AI agents for customer service.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run "operator <command> --help" for a command\'s options.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parseCommand(cmd, rest);
  if (values.help) {
    process.stdout.write(commandHelp(cmd));
    return 0;
  }
  return cmd.run(values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n`);
    else if (isOperatorError(err)) process.stderr.write(`error ${err.code}: ${err.message}\n`);
    else process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
