/**
 * `deckhand sandbox run --lang python --code 'print(1)'` (or --file path): runs code in a sandbox
 * with the configured limits and prints exactly one JSON object on stdout (logs go to stderr).
 * `deckhand sandbox build [--force]`: builds the sandbox image locally (scripts/sandbox-image.sh),
 * passing its progress lines through, and ends with the image's tag and how long it took.
 * bringUpSandbox: what `deckhand chat` does on a fresh machine so `run python` works there: a
 * reachable Docker engine (or dockerd started by scripts/services.sh), then the image if missing.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type Docker from 'dockerode';
import { type Config, createLogger, DeckhandError, loadConfig, userMessageOf } from '../core/index.js';
import {
  createDockerClient,
  DEFAULT_DOCKER_SOCKET,
  dockerConfigured,
  imageExists,
  sandboxRunnerFromConfig,
} from '../runners/index.js';
import { SANDBOX_HELP, SANDBOX_USAGE } from './usage.js';

export { SANDBOX_USAGE };

const BUILD_SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/sandbox-image.sh');
const SERVICES_SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/services.sh');
const execFileAsync = promisify(execFile);

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

/** scripts/sandbox-image.sh with its progress lines passed through; resolves to its exit code and stdout. */
function runBuildScript(force: boolean, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [BUILD_SCRIPT, ...(force ? ['--force'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout }));
  });
}

/** The image's recipe tag (<repo>:<hash>), or <repo>:latest when Docker cannot say. */
async function recipeTag(id: string, repo: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { RepoTags } = await createDockerClient(env).getImage(id).inspect();
    const tag = (RepoTags ?? []).find((t) => t.startsWith(`${repo}:`) && !t.endsWith(':latest'));
    return tag ?? `${repo}:latest`;
  } catch {
    return `${repo}:latest`;
  }
}

async function buildCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { force: { type: 'boolean', default: false } } });
  // The configured image's name (DECKHAND_SANDBOX_IMAGE), when it is one the script can make.
  const repo =
    process.env.DECKHAND_SANDBOX_REPO ?? buildableRepo(loadConfig().sandbox.image) ?? 'deckhand-sandbox';
  const env = { ...process.env, DECKHAND_SANDBOX_REPO: repo };
  const started = Date.now();
  const { code, stdout } = await runBuildScript(values.force ?? false, env);
  const id = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !id) {
    process.stderr.write(`sandbox image ${repo} failed after ${secondsSince(started)} (exit code ${code})\n`);
    return code || 1;
  }
  process.stdout.write(`sandbox image ${await recipeTag(id, repo, env)} ready in ${secondsSince(started)}\n`);
  return 0;
}

export async function sandboxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'run':
      return runCommand(rest);
    case 'build':
      return buildCommand(rest);
    default:
      process.stderr.write(SANDBOX_HELP);
      return 2;
  }
}

/**
 * The repository name scripts/sandbox-image.sh should tag for `image`, when it makes that image: a
 * local name with no tag or `:latest` (the script tags <repo>:<recipe hash> and <repo>:latest).
 * A registry name (a host with a dot, a port or localhost) or a digest is pulled, not built here.
 */
export function buildableRepo(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
  if (tag !== 'latest') return undefined;
  const first = repo.split('/')[0] ?? '';
  if (repo.includes('/') && (/[.:]/.test(first) || first === 'localhost')) return undefined;
  return /^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/.test(repo) ? repo : undefined;
}

/** One progress line, written in two parts around the work: `label ... ready in 54 s`. */
export function progressLine(out: NodeJS.WritableStream, label: string): { done(): void; failed(): void } {
  const started = Date.now();
  out.write(`${label} ... `);
  return {
    done: () => out.write(`ready in ${secondsSince(started)}\n`),
    failed: () => out.write(`failed after ${secondsSince(started)}\n`),
  };
}

/** `0.4 s`, `48 s`: wall clock since `started` (a Date.now() value). */
function secondsSince(started: number): string {
  const seconds = (Date.now() - started) / 1000;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

function codeExecutionOff(reason: string, fix: string): DeckhandError {
  return new DeckhandError(
    'NOT_CONFIGURED',
    `${reason}. To turn it on: ${fix}, then run deckhand chat again.`,
  );
}

/** The last line a failed script printed on stderr (its `FAILED: ...` line), else the error's own text. */
function lastLineOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const lines = typeof stderr === 'string' ? stderr.trim().split('\n') : [];
  const line =
    lines.findLast((l) => l.includes('FAILED: ')) ??
    lines.at(-1) ??
    (error instanceof Error ? error.message : String(error));
  return line.replace(/^[\w-]+: (FAILED: )?/, '').replace(/[.;:]\s*$/, '');
}

/** 'up', or why the engine does not answer: 'denied' (the socket refuses this user) or 'down'. */
async function engineState(docker: Docker, ms = 5000): Promise<'up' | 'denied' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'down'>((done) => {
    timer = setTimeout(() => done('down'), ms);
  });
  try {
    return await Promise.race([docker.ping().then(() => 'up' as const), late]);
  } catch (error) {
    return (error as { code?: unknown }).code === 'EACCES' ? 'denied' : 'down';
  } finally {
    clearTimeout(timer);
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  return dirs.some((dir) => dir && existsSync(join(dir, command)));
}

/** Root, or sudo that asks for no password: what services.sh needs to start dockerd without a prompt. */
async function canActAsRoot(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (process.getuid?.() === 0) return true;
  try {
    await execFileAsync('sudo', ['-n', 'true'], { env, timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** A Docker engine that answers: DOCKER_HOST's, the default socket's, or dockerd started by services.sh. */
async function reachableEngine(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv): Promise<Docker> {
  if (env.DOCKER_HOST) {
    const docker = createDockerClient(env);
    if ((await engineState(docker)) === 'up') return docker;
    throw codeExecutionOff(
      `the Docker engine at DOCKER_HOST=${env.DOCKER_HOST} does not answer`,
      "start that engine, or unset DOCKER_HOST to use this machine's",
    );
  }
  const local = createDockerClient(env);
  const state = await engineState(local);
  if (state === 'up') return local;
  if (state === 'denied')
    throw codeExecutionOff(
      `the Docker engine at ${DEFAULT_DOCKER_SOCKET} refuses this user`,
      'add yourself to its group (sudo usermod -aG docker "$USER") and log in again',
    );
  const fix = 'eval "$(scripts/services.sh up docker)" (as root), or set DOCKER_HOST to a running engine';
  if (env.DECKHAND_SKIP_DOCKER === '1')
    throw codeExecutionOff('no Docker engine answers (DECKHAND_SKIP_DOCKER=1)', fix);
  if (!(await canActAsRoot(env)))
    throw codeExecutionOff(
      'no Docker engine answers, and starting one needs root (or sudo without a password)',
      fix,
    );
  const step = progressLine(
    out,
    onPath('dockerd', env)
      ? 'sandbox: starting the Docker engine'
      : "sandbox: installing Debian's docker.io and starting the Docker engine (a minute or two, once)",
  );
  try {
    const { stdout } = await execFileAsync('bash', [SERVICES_SCRIPT, 'up', 'docker'], {
      env,
      timeout: 10 * 60_000,
    });
    const host = /^export DOCKER_HOST='(.*)'$/m.exec(stdout)?.[1];
    if (host) env.DOCKER_HOST = host;
  } catch (error) {
    step.failed();
    throw codeExecutionOff(`no Docker engine here (${lastLineOf(error)})`, fix);
  }
  step.done();
  return createDockerClient(env);
}

/** The configured image, built by scripts/sandbox-image.sh when it is missing and a local name. */
async function ensureImage(
  docker: Docker,
  image: string,
  out: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv,
) {
  if (await imageExists(docker, image)) return;
  const repo = buildableRepo(image);
  if (!repo) {
    throw codeExecutionOff(
      `the sandbox image ${image} is not here and is not one scripts/sandbox-image.sh builds`,
      `docker pull ${image}, or set DECKHAND_SANDBOX_IMAGE=deckhand-sandbox:latest`,
    );
  }
  const step = progressLine(out, `sandbox: building the image ${image} (about a minute, once)`);
  const fix = 'run deckhand sandbox build and read what it says';
  try {
    await execFileAsync('bash', [BUILD_SCRIPT], {
      env: { ...env, DECKHAND_SANDBOX_REPO: repo },
      timeout: 15 * 60_000,
    });
  } catch (error) {
    step.failed();
    throw codeExecutionOff(`building the sandbox image failed (${lastLineOf(error)})`, fix);
  }
  if (!(await imageExists(docker, image))) {
    step.failed();
    throw codeExecutionOff(`scripts/sandbox-image.sh finished but ${image} is not there`, fix);
  }
  step.done();
}

/**
 * Docker engine and sandbox image for `deckhand chat`, brought up when missing with one progress line
 * per step; true when code execution can be on. Quick when both are there (a ping and an inspect).
 * Otherwise one line says code execution is off and how to turn it on. DOCKER_HOST is set in `env`
 * when dockerd was started, so the runtime that opens next finds the same engine.
 */
export async function bringUpSandbox(
  config: Config,
  out: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  try {
    const docker = await reachableEngine(out, env);
    await ensureImage(docker, config.sandbox.image, out, env);
    return true;
  } catch (error) {
    out.write(`sandbox: code execution is off: ${userMessageOf(error)}\n`);
    return false;
  }
}
