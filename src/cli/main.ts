/**
 * The `deckhand` command line. Each subcommand lives in its own file; this only dispatches. A command's
 * module (and with it core, the store, Docker...) is loaded only when that command runs, after its
 * arguments are parsed, so `deckhand --help` and `deckhand <command> --help` answer at once.
 */
import { parseArgs } from 'node:util';
import { COMMAND_HELP, USAGE } from './usage.js';

function asksForHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const help = command === undefined ? undefined : COMMAND_HELP[command];
  if (help && asksForHelp(rest)) {
    process.stdout.write(help);
    return 0;
  }
  switch (command) {
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      const [{ loadConfig }, { doctorExitCode, formatDoctor, runDoctor }] = await Promise.all([
        import('../core/index.js'),
        import('./doctor.js'),
      ]);
      const results = await runDoctor(loadConfig());
      process.stdout.write(values.json ? `${JSON.stringify(results)}\n` : formatDoctor(results));
      return doctorExitCode(results);
    }
    case 'chat':
      return (await import('./chat.js')).chatCommand();
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string' } } });
      const { startCommand } = await import('./start.js');
      return startCommand(values.role === undefined ? {} : { role: values.role });
    }
    case 'schedules':
      return (await import('./schedules.js')).schedulesCommand(rest);
    case 'audit': {
      const { values } = parseArgs({
        args: rest,
        options: {
          since: { type: 'string' },
          actor: { type: 'string' },
          action: { type: 'string' },
          workspace: { type: 'string' },
          limit: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      return (await import('./audit.js')).auditCommand(values);
    }
    case 'sandbox':
      return (await import('./sandbox.js')).sandboxCommand(rest);
    case 'discord':
      return (await import('./discord.js')).discordCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`deckhand: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

export async function runCli(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    // core is loaded here only when a command failed: its typed errors carry the user-facing message.
    const { isDeckhandError } = await import('../core/index.js');
    process.stderr.write(
      `deckhand: ${isDeckhandError(error) ? error.userMessage : (error as Error).message}\n`,
    );
    process.exitCode = 1;
  }
}
