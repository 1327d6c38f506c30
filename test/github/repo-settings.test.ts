/**
 * A repository's `.deckhand.yml`: only `setup` and `test` (bash commands) are read; anything else is
 * refused with a message that names the file and the problem, for the tracking comment. The read is
 * as defensive as test detection: no link followed, no FIFO opened, the size capped. Real files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeckhandError, isDeckhandError } from '../../src/core/index.js';
import { parseRepoSettings, readRepoSettings } from '../../src/github/index.js';

const dirs: string[] = [];
function repo(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-settings-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The BAD_REQUEST error `settings` rejects with (fails the test when it resolves or throws another). */
async function refusal(settings: Promise<unknown>): Promise<DeckhandError> {
  const error = await settings.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isDeckhandError(error, 'BAD_REQUEST')) throw new Error(`expected a BAD_REQUEST, got ${String(error)}`);
  return error;
}

describe('reading .deckhand.yml', () => {
  it('is empty settings when the repository has no settings file, or an empty one', async () => {
    expect(await readRepoSettings(repo())).toEqual({});
    expect(await readRepoSettings(repo({ '.deckhand.yml': '# nothing yet\n' }))).toEqual({});
  });

  it('takes the setup and test commands from .deckhand.yml or .deckhand.yaml', async () => {
    const text = 'setup: |\n  npm ci\n  pip install -r requirements.txt\ntest: npm run test:unit\n';
    expect(await readRepoSettings(repo({ '.deckhand.yml': text }))).toEqual({
      setup: 'npm ci\npip install -r requirements.txt',
      test: 'npm run test:unit',
    });
    expect(await readRepoSettings(repo({ '.deckhand.yaml': 'test: make check\n' }))).toEqual({
      test: 'make check',
    });
  });

  it('refuses an unknown key, naming the file and the key', async () => {
    const error = await refusal(
      readRepoSettings(repo({ '.deckhand.yml': 'test: make\nimage: evil:latest\n' })),
    );
    expect(error.userMessage).toContain('`.deckhand.yml`');
    expect(error.userMessage).toContain('unknown key `image`');
    expect(error.userMessage).toContain('only `setup` and `test` are read');
  });

  it('refuses a command that is not a string, is empty or is too long', async () => {
    const list = await refusal(readRepoSettings(repo({ '.deckhand.yaml': 'setup:\n  - npm ci\n' })));
    expect(list.userMessage).toContain('`.deckhand.yaml`');
    expect(list.userMessage).toContain('`setup` must be a string (a bash command)');
    expect(() => parseRepoSettings('.deckhand.yml', 'test: 3\n')).toThrow(/`test` must be a string/);
    expect(() => parseRepoSettings('.deckhand.yml', 'test: "  "\n')).toThrow(/`test` is empty/);
    expect(() => parseRepoSettings('.deckhand.yml', `setup: ${'x'.repeat(2001)}\n`)).toThrow(
      /`setup` is longer than 2000 characters/,
    );
  });

  it('refuses text that is not a YAML mapping', async () => {
    expect(() => parseRepoSettings('.deckhand.yml', 'setup: [unclosed\n')).toThrow(/is not valid YAML/);
    expect(() => parseRepoSettings('.deckhand.yml', '- npm ci\n')).toThrow(/must be a mapping/);
    expect(() => parseRepoSettings('.deckhand.yml', 'test: a\ntest: b\n')).toThrow(/is not valid YAML/);
  });

  it('keeps an alias bomb small instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 12; level++) {
      bomb.push(
        `l${level}: &l${level} [${Array(10)
          .fill(level === 1 ? '*a' : `*l${level - 1}`)
          .join(', ')}]`,
      );
    }
    expect(() => parseRepoSettings('.deckhand.yml', bomb.join('\n'))).toThrow(/could not be used/);
  });

  it('refuses two settings files rather than picking one', async () => {
    const error = await refusal(
      readRepoSettings(repo({ '.deckhand.yml': 'test: a\n', '.deckhand.yaml': 'test: b\n' })),
    );
    expect(error.userMessage).toContain('keep only one of the two');
  });

  it('does not follow a link, open a FIFO or read an oversized file', async () => {
    const linked = repo();
    symlinkSync('/etc/hostname', join(linked, '.deckhand.yml'));
    expect((await refusal(readRepoSettings(linked))).userMessage).toContain('it is a link');

    const fifo = repo();
    execFileSync('mkfifo', [join(fifo, '.deckhand.yml')]);
    expect((await refusal(readRepoSettings(fifo))).userMessage).toContain('not a regular file');

    const big = repo({ '.deckhand.yml': `test: make\n# ${'x'.repeat(70 * 1024)}\n` });
    expect((await refusal(readRepoSettings(big))).userMessage).toContain('larger than 65536 bytes');
  });
});
