/** The `deckhand` command line. Each subcommand lives in its own file; this only dispatches. */
import { parseArgs } from 'node:util';
import { isDeckhandError, loadConfig } from '../core/index.js';
import { chatCommand } from './chat.js';
import { doctorExitCode, formatDoctor, runDoctor } from './doctor.js';
import { sandboxCommand } from './sandbox.js';
import { startCommand } from './start.js';

const USAGE = `usage: deckhand <command>

commands:
  start             serve Slack, GitHub and Discord on PORT (default 3000) and run the worker
  chat              talk to Deckhand in this terminal (embedded defaults)
  doctor [--json]   check store, Redis, Docker, Slack, Discord, GitHub and models
  sandbox run|build run code in a Docker sandbox (prints one JSON result) / build its image
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
    case 'start':
      return startCommand();
    case 'sandbox':
      return sandboxCommand(rest);
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
