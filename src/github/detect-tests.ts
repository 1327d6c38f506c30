/**
 * Finds how a repository runs its tests, in the order: the `test` command of its `.deckhand.yml`
 * (repo-settings.ts), package.json `test` script, pytest, go test, a Makefile `test` target. The
 * command runs in the sandbox; when the tool is not in the sandbox image it exits 127 with a sentence
 * saying so, and the pull request says the tests could not run. What a setup run installed
 * (dependencies.ts) is used: pytest runs with the checkout's .venv, go test with its module cache.
 *
 * The checkout holds what a sandbox run left (checked and rewritten by the host, src/runners/
 * workspace.ts), so reads here are defensive too: no link is followed, only regular files are opened
 * (non-blocking, so a FIFO could not hang the read), each read is capped, and the walk for pytest
 * files is bounded in depth and entries.
 */
import { constants } from 'node:fs';
import { lstat, open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../runners/index.js';
import { shellQuote } from '../runners/index.js';
import { commandLabel, GO_MODULE_CACHE_DIR, VENV_DIR } from './dependencies.js';
import { type RepoSettings, readRepoSettings } from './repo-settings.js';

export interface TestCommand {
  /** What a person would type, for the PR body (`npm test`). */
  label: string;
  /** The bash script run in the sandbox with the checkout as the working folder. */
  script: string;
}

export const TOOL_MISSING_EXIT = 127;

/** Config files larger than this are not test configs worth reading. */
const MAX_READ_BYTES = 1024 * 1024;
const MAX_WALK_ENTRIES = 20_000;
const MAX_WALK_DEPTH = 12;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A regular file's text (at most MAX_READ_BYTES), never through a link; undefined otherwise. */
async function readText(path: string): Promise<string | undefined> {
  try {
    const before = await lstat(path);
    if (!before.isFile() || before.size > MAX_READ_BYTES) return undefined;
    const handle = await open(path, READ_FLAGS);
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > MAX_READ_BYTES) return undefined;
      const buffer = Buffer.alloc(Math.min(stat.size, MAX_READ_BYTES));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

function needs(tool: string, check: string): string {
  return `${check} >/dev/null 2>&1 || { echo "${tool} is not installed in the sandbox image, so the tests could not run." >&2; exit ${TOOL_MISSING_EXIT}; }`;
}

const PYTEST_FILE = /^(test_.*|.*_test)\.py$/;

/** Whether tests/ or test/ holds pytest-style files: real folders only, bounded, links never followed. */
async function hasPytestFiles(dir: string): Promise<boolean> {
  let seen = 0;
  const walk = async (folder: string, depth: number): Promise<boolean> => {
    if (depth > MAX_WALK_DEPTH) return false;
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(folder);
    } catch {
      return false;
    }
    const folders: string[] = [];
    try {
      for await (const entry of handle) {
        if (++seen > MAX_WALK_ENTRIES) return false;
        // Dirent types come from lstat-like readdir data: a link is neither a file nor a folder here.
        if (entry.isFile() && PYTEST_FILE.test(entry.name)) return true;
        if (entry.isDirectory()) folders.push(join(folder, entry.name));
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
    for (const child of folders) if (await walk(child, depth + 1)) return true;
    return false;
  };
  for (const name of ['tests', 'test']) {
    const path = join(dir, name);
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isDirectory() && (await walk(path, 0))) return true;
  }
  return false;
}

/** Whether `dir` holds `folder` as a real folder (not a link) with `inside` in it. */
async function hasInstalled(dir: string, folder: string, inside?: string): Promise<boolean> {
  const stat = await lstat(join(dir, folder)).catch(() => undefined);
  if (!stat?.isDirectory()) return false;
  return (
    inside === undefined || (await lstat(join(dir, folder, inside)).catch(() => undefined)) !== undefined
  );
}

/**
 * How `dir` runs its tests, or undefined. `settings` are the repository's `.deckhand.yml`
 * (readRepoSettings); when omitted they are read here, and a settings file that cannot be used throws
 * BAD_REQUEST.
 */
export async function detectTests(dir: string, settings?: RepoSettings): Promise<TestCommand | undefined> {
  const own = (settings ?? (await readRepoSettings(dir))).test;
  if (own !== undefined) {
    // What a setup run installed comes first on PATH (`python` is the venv's, `jest` node_modules').
    return {
      label: commandLabel(own, '.deckhand.yml test'),
      script: `export PATH="$PWD/${VENV_DIR}/bin:$PWD/node_modules/.bin:$PATH"\n${own}`,
    };
  }
  const pkg = await readText(join(dir, 'package.json'));
  if (pkg) {
    let script: unknown;
    try {
      script = (JSON.parse(pkg) as { scripts?: Record<string, unknown> }).scripts?.test;
    } catch {
      script = undefined;
    }
    if (typeof script === 'string' && script.trim() && !/no test specified/.test(script)) {
      // npm runs the script with node_modules/.bin on PATH; without npm in the image, do the same.
      return {
        label: 'npm test',
        script: `if command -v npm >/dev/null 2>&1; then npm test; else PATH="$PWD/node_modules/.bin:$PATH" sh -c ${shellQuote([script])}; fi`,
      };
    }
  }
  const pyproject = (await readText(join(dir, 'pyproject.toml'))) ?? '';
  const setupCfg = (await readText(join(dir, 'setup.cfg'))) ?? '';
  const tox = (await readText(join(dir, 'tox.ini'))) ?? '';
  if (
    (await readText(join(dir, 'pytest.ini'))) !== undefined ||
    (await readText(join(dir, 'conftest.py'))) !== undefined ||
    pyproject.includes('[tool.pytest') ||
    setupCfg.includes('[tool:pytest]') ||
    tox.includes('[pytest]') ||
    (await hasPytestFiles(dir))
  ) {
    // The venv a setup run made sees both the installed dependencies and Debian's pytest.
    const python = (await hasInstalled(dir, VENV_DIR, 'bin/python')) ? `${VENV_DIR}/bin/python` : 'python3';
    return {
      label: 'pytest',
      script: `${needs('pytest', `${python} -c 'import pytest'`)}\n${python} -m pytest -q`,
    };
  }
  if ((await readText(join(dir, 'go.mod'))) !== undefined) {
    // Modules a setup run downloaded; the test run has no network, so nothing else is fetched.
    const modules = (await hasInstalled(dir, GO_MODULE_CACHE_DIR))
      ? `export GOMODCACHE="$PWD/${GO_MODULE_CACHE_DIR}" GOPROXY=off\n`
      : '';
    return { label: 'go test ./...', script: `${needs('Go', 'command -v go')}\n${modules}go test ./...` };
  }
  for (const name of ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = await readText(join(dir, name));
    if (text && /^test\s*:/m.test(text)) {
      return { label: 'make test', script: `${needs('make', 'command -v make')}\nmake test` };
    }
  }
  return undefined;
}

export type TestVerdict = 'passed' | 'failed' | 'not run' | 'timed out';

export function testVerdict(result: RunResult): TestVerdict {
  if (result.timedOut) return 'timed out';
  if (result.exitCode === 0) return 'passed';
  if (result.exitCode === TOOL_MISSING_EXIT) return 'not run';
  return 'failed';
}
