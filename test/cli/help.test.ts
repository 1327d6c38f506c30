/**
 * `deckhand <command> --help` answers with the command's usage and exit 0, before any config is
 * loaded or any service is started (so it works on a machine with nothing set up).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const COMMANDS = {
  start: '--role web|worker|all',
  chat: 'deckhand chat',
  doctor: '--json',
  schedules: 'deckhand schedules',
  sandbox: 'deckhand sandbox run --lang',
  discord: 'deckhand discord register-commands',
};

function deckhand(args: string[]): string {
  // A store URI nothing listens on: --help must answer without reaching it.
  return execFileSync(process.execPath, ['bin/deckhand.js', ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      MONGODB_URI: 'mongodb://127.0.0.1:1/none',
      DOCKER_HOST: 'unix:///nonexistent',
    },
    timeout: 30_000,
  });
}

describe('deckhand --help', () => {
  for (const [command, usage] of Object.entries(COMMANDS)) {
    it(`prints the usage of \`${command}\` and exits 0`, () => {
      expect(deckhand([command, '--help'])).toContain(usage);
    });
  }

  it('lists the commands and says how to get one command’s help', () => {
    expect(deckhand(['--help'])).toContain('`deckhand <command> --help` says more about one command.');
  });
});
