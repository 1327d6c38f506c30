/** `deckhand sandbox run` as a user types it: one JSON object on stdout. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSandboxImage } from './helpers.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const deckhand = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  exec('node', ['bin/deckhand.js', ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 });

let dir: string;
beforeAll(() => {
  ensureSandboxImage();
  dir = mkdtempSync(join(tmpdir(), 'deckhand-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deckhand sandbox', () => {
  it('prints exactly one JSON object for `sandbox run --lang python --code`', async () => {
    const { stdout } = await deckhand(['sandbox', 'run', '--lang', 'python', '--code', 'print(1)']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0] ?? '');
    expect(Object.keys(result)).toEqual([
      'exitCode',
      'stdout',
      'stderr',
      'timedOut',
      'oomKilled',
      'truncated',
      'durationMs',
    ]);
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: '1\n',
      stderr: '',
      timedOut: false,
      oomKilled: false,
      truncated: false,
    });
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('runs a file, taking the language from its extension', async () => {
    const file = join(dir, 'hello.sh');
    writeFileSync(file, 'echo "from $0"; exit 4\n');
    const { stdout } = await deckhand(['sandbox', 'run', '--file', file]);
    expect(JSON.parse(stdout)).toMatchObject({ exitCode: 4, stdout: 'from main.sh\n' });
  });

  it('names the fix when the image is missing', async () => {
    const error = await deckhand(['sandbox', 'run', '--lang', 'python', '--code', 'print(1)'], {
      DECKHAND_SANDBOX_IMAGE: 'deckhand-sandbox:does-not-exist',
    }).catch((e: unknown) => e as { code: number; stdout: string; stderr: string });
    expect(error).toMatchObject({ code: 1, stdout: '' });
    expect((error as { stderr: string }).stderr).toContain('deckhand sandbox build');
  });
});
