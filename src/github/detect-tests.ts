/**
 * Finds how a repository runs its tests, in the order: package.json `test` script, pytest, go test,
 * a Makefile `test` target. The command runs in the sandbox; when the tool is not in the sandbox
 * image it exits 127 with a sentence saying so, and the pull request says the tests could not run.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../runners/index.js';
import { shellQuote } from '../runners/index.js';

export interface TestCommand {
  /** What a person would type, for the PR body (`npm test`). */
  label: string;
  /** The bash script run in the sandbox with the checkout as the working folder. */
  script: string;
}

export const TOOL_MISSING_EXIT = 127;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function needs(tool: string, check: string): string {
  return `${check} >/dev/null 2>&1 || { echo "${tool} is not installed in the sandbox image, so the tests could not run." >&2; exit ${TOOL_MISSING_EXIT}; }`;
}

async function hasPytestFiles(dir: string): Promise<boolean> {
  for (const folder of ['tests', 'test']) {
    try {
      const names = await readdir(join(dir, folder), { recursive: true });
      if (names.some((name) => /(^|\/)(test_[^/]*|[^/]*_test)\.py$/.test(name))) return true;
    } catch {
      // no such folder
    }
  }
  return false;
}

export async function detectTests(dir: string): Promise<TestCommand | undefined> {
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
    return {
      label: 'pytest',
      script: `${needs('pytest', "python3 -c 'import pytest'")}\npython3 -m pytest -q`,
    };
  }
  if ((await readText(join(dir, 'go.mod'))) !== undefined) {
    return { label: 'go test ./...', script: `${needs('Go', 'command -v go')}\ngo test ./...` };
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
