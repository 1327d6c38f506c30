/**
 * `deckhand chat` on a machine where it must bring things up itself: `run python` typed into the real
 * CLI answers 42 through a real Docker sandbox; a missing sandbox image is built with one progress
 * line and the time taken; an unset MONGODB_URI starts the embedded FerretDB the same way; and with no
 * Docker engine, or one whose socket refuses the user, one line says code execution is off and how to
 * turn it on, while chat still answers.
 * Real processes, real Docker and FerretDB (the suite builds deckhand-sandbox:latest before it runs).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildableRepo } from '../../src/cli/sandbox.js';
import { DEFAULT_DOCKER_SOCKET } from '../../src/runners/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/deckhand.js');
const SERVICES = resolve(import.meta.dirname, '../../scripts/services.sh');

interface ChatOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Types `input` into `deckhand chat` (piped, then end of input) and waits for it to leave. */
function chat(
  input: string,
  env: Record<string, string>,
  ms = 150_000,
  user?: { uid: number; gid: number },
): Promise<ChatOutcome> {
  const child = spawn(process.execPath, [BIN, 'chat'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...user,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(input);
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`deckhand chat did not finish in ${ms} ms;\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const docker = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
let store: Store;
let uri: string;

beforeAll(async () => {
  uri = testDatabaseUri('chat');
  store = await openTestStore({ uri });
});
afterAll(() => dropTestStore(store));

describe('deckhand chat with Docker here', () => {
  it('runs `run python print(6*7)` in a sandbox and shows 42, with nothing printed about setup', async () => {
    const { code, stdout, stderr } = await chat('run python print(6*7)\n', {
      MONGODB_URI: uri,
      DOCKER_HOST: docker,
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^deckhand> `python` exited 0 in \d+ ms$/m);
    expect(stdout).toMatch(/^42$/m);
    expect(stdout).not.toContain('Code execution is not available');
    // Everything was there: no progress line, no log line, nothing on stderr at all.
    expect(stderr.trim()).toBe('');
  }, 180_000);

  it('builds a missing sandbox image with one progress line and the time taken, then runs the code', async () => {
    // A throwaway name, so the real deckhand-sandbox:latest is never removed.
    const repo = `deckhand-chat-test-${randomBytes(3).toString('hex')}`;
    try {
      const { code, stdout, stderr } = await chat('run python print(6*7)\n', {
        MONGODB_URI: uri,
        DOCKER_HOST: docker,
        DECKHAND_SANDBOX_IMAGE: `${repo}:latest`,
      });
      expect(code).toBe(0);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^sandbox: building the image ${repo}:latest \\(about a minute, once\\) \\.\\.\\. ready in [\\d.]+ s$`,
          ),
        ),
      ]);
      expect(stdout).toMatch(/^42$/m);
      // The second chat finds it: nothing to build, nothing printed.
      const again = await chat('run python print(6*7)\n', {
        MONGODB_URI: uri,
        DOCKER_HOST: docker,
        DECKHAND_SANDBOX_IMAGE: `${repo}:latest`,
      });
      expect(again.stderr.trim()).toBe('');
      expect(again.stdout).toMatch(/^42$/m);
    } finally {
      const env = { ...process.env, DOCKER_HOST: docker };
      const { stdout } = await run('docker', ['image', 'ls', repo, '--format', '{{.Repository}}:{{.Tag}}'], {
        env,
      });
      const tags = stdout.split('\n').filter(Boolean);
      if (tags.length) await run('docker', ['rmi', '--force', ...tags], { env });
    }
  }, 420_000);
});

describe('deckhand chat with no Docker engine', () => {
  it('says in one line that code execution is off and how to turn it on, and still answers help', async () => {
    const nowhere = `unix:///nonexistent-${randomBytes(3).toString('hex')}/docker.sock`;
    const { code, stdout, stderr } = await chat('help\nrun python print(6*7)\n', {
      MONGODB_URI: uri,
      DOCKER_HOST: nowhere,
    });
    expect(code).toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      `sandbox: code execution is off: the Docker engine at DOCKER_HOST=${nowhere} does not answer. To turn it on: start that engine, or unset DOCKER_HOST to use this machine's, then run deckhand chat again.`,
    ]);
    expect(stdout).toContain('**Deckhand commands**');
    expect(stdout).toContain('deckhand> Code execution is not available');
    expect(stdout).not.toMatch(/^42$/m);
  }, 180_000);
});

// Root can run chat as another user; the socket must refuse others (mode 660, as Debian installs it).
const NOBODY = { uid: 65534, gid: 65534 };
const socketRefusesOthers =
  process.getuid?.() === 0 &&
  existsSync(DEFAULT_DOCKER_SOCKET) &&
  (statSync(DEFAULT_DOCKER_SOCKET).mode & 0o006) === 0;

describe('deckhand chat as a user the Docker socket refuses', () => {
  it.skipIf(!socketRefusesOthers)(
    'says how to join the docker group, in one line, and still answers help',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'deckhand-chat-home-'));
      chownSync(home, NOBODY.uid, NOBODY.gid);
      try {
        const { code, stdout, stderr } = await chat(
          'help\n',
          { MONGODB_URI: uri, HOME: home },
          150_000,
          NOBODY,
        );
        expect(code).toBe(0);
        expect(stderr.trim().split('\n')).toEqual([
          `sandbox: code execution is off: the Docker engine at ${DEFAULT_DOCKER_SOCKET} refuses this user. To turn it on: add yourself to its group (sudo usermod -aG docker "$USER") and log in again, then run deckhand chat again.`,
        ]);
        expect(stdout).toContain('**Deckhand commands**');
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
    180_000,
  );
});

describe('deckhand chat with no MONGODB_URI', () => {
  it('starts the embedded FerretDB with one progress line and the time taken', async () => {
    // Its own services state folder: a FerretDB of its own (the binary is the suite's cached build).
    const state = mkdtempSync(join(tmpdir(), 'deckhand-chat-state-'));
    const env = { DECKHAND_STATE_DIR: state, DOCKER_HOST: docker };
    try {
      const { code, stdout, stderr } = await chat('help\n', env);
      expect(code).toBe(0);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^store: starting FerretDB on 127\.0\.0\.1:\d+ \(data in .+\) \.\.\. ready in [\d.]+ s$/,
        ),
      ]);
      expect(stdout).toContain('**Deckhand commands**');
    } finally {
      await run('bash', [SERVICES, 'down'], { env: { ...process.env, ...env } }).catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('which sandbox images chat builds itself', () => {
  it('builds local names with no tag or :latest, and leaves registry names, other tags and digests to pull', () => {
    expect(buildableRepo('deckhand-sandbox:latest')).toBe('deckhand-sandbox');
    expect(buildableRepo('deckhand-sandbox')).toBe('deckhand-sandbox');
    expect(buildableRepo('team/deckhand-sandbox:latest')).toBe('team/deckhand-sandbox');
    expect(buildableRepo('deckhand-sandbox:d2dac8447d67')).toBeUndefined();
    expect(buildableRepo('ghcr.io/team/deckhand-sandbox:latest')).toBeUndefined();
    expect(buildableRepo('localhost:5000/deckhand-sandbox')).toBeUndefined();
    expect(buildableRepo('deckhand-sandbox@sha256:0123')).toBeUndefined();
    expect(buildableRepo('Bad Name:latest')).toBeUndefined();
  });
});
