/**
 * `deckhand <command> --help` answers with the command's usage and exit 0, before any config is
 * loaded or any service is started (so it works on a machine with nothing set up).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

const COMMANDS = {
  start: '--role web|worker|all',
  chat: 'deckhand chat',
  doctor: '--json',
  schedules: 'deckhand schedules',
  sandbox: 'deckhand sandbox run --lang',
  discord: 'deckhand discord register-commands',
  audit: 'deckhand audit [--since',
};

async function deckhand(args: string[]): Promise<string> {
  // A store URI nothing listens on: --help must answer without reaching it.
  const { stdout } = await execFileAsync(process.execPath, ['bin/deckhand.js', ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      MONGODB_URI: 'mongodb://127.0.0.1:1/none',
      DOCKER_HOST: 'unix:///nonexistent',
    },
    timeout: 30_000,
  });
  return stdout;
}

// Each case is its own process; they run side by side.
describe.concurrent('deckhand --help', () => {
  for (const [command, usage] of Object.entries(COMMANDS)) {
    it(`prints the usage of \`${command}\` and exits 0`, async () => {
      expect(await deckhand([command, '--help'])).toContain(usage);
    });
  }

  it('lists the commands and says how to get one command’s help', async () => {
    expect(await deckhand(['--help'])).toContain('`deckhand <command> --help` says more about one command.');
  });

  it('prints for sandbox and discord the usage those commands print when called without a subcommand', async () => {
    // Without a subcommand they load and answer with their usage on stderr and a failing exit code.
    const failing = (args: string[]) =>
      deckhand(args).then(
        () => '',
        (error: { stderr: string }) => error.stderr,
      );
    const [sandboxHelp, sandboxWrong, discordHelp, discordWrong] = await Promise.all([
      deckhand(['sandbox', '--help']),
      failing(['sandbox']),
      deckhand(['discord', '--help']),
      failing(['discord']),
    ]);
    expect(sandboxWrong).toBe(sandboxHelp);
    expect(discordWrong).toContain(`\n${discordHelp}`);
  }, 60_000);
});
