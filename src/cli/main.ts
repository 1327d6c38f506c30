/** The `deckhand` command line. Each subcommand lives in its own file; this only dispatches. */
import { parseArgs } from 'node:util';
import { isDeckhandError, loadConfig } from '../core/index.js';
import { chatCommand } from './chat.js';
import { DISCORD_USAGE, discordCommand } from './discord.js';
import { doctorExitCode, formatDoctor, runDoctor } from './doctor.js';
import { SANDBOX_USAGE, sandboxCommand } from './sandbox.js';
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

\`deckhand <command> --help\` says more about one command.
`;

/** What `deckhand <command> --help` prints: the command's usage, before anything is loaded or started. */
const COMMAND_HELP: Record<string, string> = {
  start: `usage: deckhand start [--role web|worker|all]

Serves Slack (/slack/events), GitHub (/github/webhooks), Discord (/discord/interactions), /healthz,
/readyz, /metrics and /admin on PORT (default 3000), and runs the worker. --role web only serves
(scale it freely), --role worker only runs tasks; default all (DECKHAND_ROLE sets it too).
`,
  chat: `usage: deckhand chat

Talks to Deckhand in this terminal on embedded defaults (a local FerretDB when MONGODB_URI is unset).
Type \`help\` for the commands, Ctrl-D to leave.
`,
  doctor: `usage: deckhand doctor [--json]

Checks the store, Redis, Docker, Slack, Discord, GitHub and the models, and says how to fix what is
missing. Exits 1 when something configured is broken.
`,
  schedules: `usage: deckhand schedules [--json]

Lists digest schedules with their next run time, and the scheduler's periodic jobs.
`,
  sandbox: SANDBOX_USAGE,
  discord: DISCORD_USAGE,
};

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
    process.stderr.write(
      `deckhand: ${isDeckhandError(error) ? error.userMessage : (error as Error).message}\n`,
    );
    process.exitCode = 1;
  }
}
