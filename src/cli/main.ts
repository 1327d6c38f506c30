/** The `deckhand` command line. Each subcommand lives in its own file; this only dispatches. */
import { parseArgs } from 'node:util';
import { isDeckhandError, loadConfig } from '../core/index.js';
import { chatCommand } from './chat.js';
import { discordCommand } from './discord.js';
import { doctorExitCode, formatDoctor, runDoctor } from './doctor.js';
import { sandboxCommand } from './sandbox.js';
import { schedulesCommand } from './schedules.js';
import { startCommand } from './start.js';

const USAGE = `usage: deckhand <command>

commands:
  start [--role web|worker|all]
                    serve Slack, GitHub and Discord on PORT (default 3000) and run the worker;
                    web only serves (scale it freely), worker only runs tasks (default all)
  chat              talk to Deckhand in this terminal (embedded defaults)
  doctor [--json]   check store, Redis, Docker, Slack, Discord, GitHub and models
  schedules [--json] digest schedules with their next run time, and the periodic jobs
  sandbox run|build run code in a Docker sandbox (prints one JSON result) / build its image
  discord register-commands [--guild ID]
                    register /deckhand and "Ask Deckhand" with Discord (--guild: one server, at once)
  help              this text
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      const results = await runDoctor(loadConfig());
      process.stdout.write(values.json ? `${JSON.stringify(results)}\n` : formatDoctor(results));
      return doctorExitCode(results);
    }
    case 'chat':
      return chatCommand();
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string' } } });
      return startCommand(values.role === undefined ? {} : { role: values.role });
    }
    case 'schedules':
      return schedulesCommand(rest);
    case 'sandbox':
      return sandboxCommand(rest);
    case 'discord':
      return discordCommand(rest);
    case undefined:
    case 'help':
    case '--help':
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
    process.stderr.write(
      `deckhand: ${isDeckhandError(error) ? error.userMessage : (error as Error).message}\n`,
    );
    process.exitCode = 1;
  }
}
