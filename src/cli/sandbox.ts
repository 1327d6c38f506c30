/**
 * `deckhand sandbox run --lang python --code 'print(1)'` (or --file path): runs code in a sandbox
 * with the configured limits and prints exactly one JSON object on stdout (logs go to stderr).
 * `deckhand sandbox build [--force]`: builds the sandbox image locally (scripts/sandbox-image.sh).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger, DeckhandError, loadConfig } from '../core/index.js';
import { dockerConfigured, sandboxRunnerFromConfig } from '../runners/index.js';

export const SANDBOX_USAGE = `usage:
  deckhand sandbox run --lang python|node|bash (--code CODE | --file PATH|-) [--timeout SECONDS] [--network]
  deckhand sandbox build [--force]
`;

const BUILD_SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/sandbox-image.sh');

const LANG_BY_EXTENSION: Record<string, string> = { '.py': 'python', '.js': 'node', '.sh': 'bash' };

function usageError(message: string): DeckhandError {
  return new DeckhandError('BAD_REQUEST', `${message}\n${SANDBOX_USAGE}`);
}

async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      lang: { type: 'string' },
      code: { type: 'string' },
      file: { type: 'string' },
      timeout: { type: 'string' },
      network: { type: 'boolean', default: false },
    },
  });
  if ((values.code === undefined) === (values.file === undefined)) {
    throw usageError('deckhand sandbox run: give exactly one of --code or --file.');
  }
  const code = values.code ?? readFileSync(values.file === '-' ? 0 : (values.file ?? ''), 'utf8');
  const lang = values.lang ?? (values.file ? LANG_BY_EXTENSION[extname(values.file)] : undefined);
  if (!lang) throw usageError('deckhand sandbox run: --lang is required.');
  const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) {
    throw usageError('deckhand sandbox run: --timeout must be a positive number of seconds.');
  }
  if (!dockerConfigured()) {
    throw new DeckhandError(
      'NOT_CONFIGURED',
      'Docker is not available (no DOCKER_HOST and no /var/run/docker.sock). Start it with `eval "$(scripts/services.sh up docker)"`.',
    );
  }
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', pretty: false });
  // One run, then exit: a warm pool would only create a container to throw away.
  const runner = sandboxRunnerFromConfig(loadConfig(), { warmPool: 0, logger });
  try {
    const result = await runner.run({
      lang,
      code,
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
      ...(values.network ? { network: true } : {}),
    });
    const { exitCode, stdout, stderr, timedOut, oomKilled, truncated, durationMs } = result;
    process.stdout.write(
      `${JSON.stringify({ exitCode, stdout, stderr, timedOut, oomKilled, truncated, durationMs })}\n`,
    );
    return 0;
  } finally {
    await runner.close();
  }
}

function buildCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { force: { type: 'boolean', default: false } } });
  return new Promise((done, fail) => {
    const child = spawn('bash', [BUILD_SCRIPT, ...(values.force ? ['--force'] : [])], { stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code) => done(code ?? 1));
  });
}

export async function sandboxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'run':
      return runCommand(rest);
    case 'build':
      return buildCommand(rest);
    default:
      process.stderr.write(SANDBOX_USAGE);
      return 2;
  }
}
