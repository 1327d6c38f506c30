import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Checklist,
  commentableLines,
  detectTests,
  scriptOf,
  slugOf,
  subjectOf,
} from '../../src/github/index.js';

const dirs: string[] = [];
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-detect-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('reading a request', () => {
  it('finds the script in a bash or python block, and none in other blocks', () => {
    expect(scriptOf('fix it\n```bash\nsed -i s/a/b/ x\n```')).toEqual({
      lang: 'bash',
      code: 'sed -i s/a/b/ x\n',
    });
    expect(scriptOf('```py\nprint(1)\n```')).toEqual({ lang: 'python', code: 'print(1)\n' });
    expect(scriptOf('```js\nconsole.log(1)\n```')).toBeUndefined();
    expect(scriptOf('```bash\n\n```')).toBeUndefined();
  });

  it('makes a commit subject from the prose and a branch slug from the title', () => {
    expect(subjectOf('fix the typo\n```bash\nsed\n```', 'fallback')).toBe('Fix the typo');
    expect(subjectOf('```bash\nsed\n```', 'Changes asked for in #3')).toBe('Changes asked for in #3');
    expect(subjectOf('x'.repeat(100), 'f')).toHaveLength(72);
    expect(slugOf('Spelling error in the README file!')).toBe('spelling-error-in-the-readme-file');
    expect(slugOf('Ünïcode — and a very long title that goes on and on')).toBe(
      'unicode-and-a-very-long-title-that-goes',
    );
    expect(slugOf('???')).toBe('change');
  });
});

describe('finding the tests', () => {
  it('prefers a package.json test script, then pytest, go test and a Makefile test target', async () => {
    expect(
      (await detectTests(repo({ 'package.json': '{"scripts":{"test":"vitest run"}}', 'go.mod': '' })))?.label,
    ).toBe('npm test');
    expect(
      await detectTests(
        repo({ 'package.json': '{"scripts":{"test":"echo \\"Error: no test specified\\" && exit 1"}}' }),
      ),
    ).toBeUndefined();
    expect((await detectTests(repo({ 'pyproject.toml': '[tool.pytest.ini_options]\n' })))?.label).toBe(
      'pytest',
    );
    expect((await detectTests(repo({ 'tests/unit/test_x.py': '' })))?.label).toBe('pytest');
    expect((await detectTests(repo({ 'go.mod': 'module x' })))?.label).toBe('go test ./...');
    expect((await detectTests(repo({ Makefile: 'build:\n\ttrue\ntest: build\n\ttrue\n' })))?.label).toBe(
      'make test',
    );
    expect(await detectTests(repo({ Makefile: 'build:\n\ttrue\n', 'README.md': '' }))).toBeUndefined();
  });

  it('lets the repository’s .deckhand.yml test command win, with installed tools first on PATH', async () => {
    const dir = repo({
      '.deckhand.yml': 'test: pytest -q tests/unit\n',
      'package.json': '{"scripts":{"test":"x"}}',
    });
    const found = await detectTests(dir);
    expect(found?.label).toBe('pytest -q tests/unit');
    expect(found?.script).toBe(
      'export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"\npytest -q tests/unit',
    );
    // A command that is not short and plain is not echoed into the tracking comment as a label.
    expect((await detectTests(dir, { test: 'echo `id` && make test' }))?.label).toBe('.deckhand.yml test');
    // Settings the caller read once are used as given; empty ones fall back to detection.
    expect((await detectTests(dir, {}))?.label).toBe('npm test');
  });

  it('runs pytest with the checkout’s .venv when a setup made one, never through a linked .venv', async () => {
    expect((await detectTests(repo({ 'tests/test_a.py': '' })))?.script).toContain('python3 -m pytest -q');
    const withVenv = await detectTests(repo({ 'tests/test_a.py': '', '.venv/bin/python': '' }));
    expect(withVenv?.label).toBe('pytest');
    expect(withVenv?.script).toContain(".venv/bin/python -c 'import pytest'");
    expect(withVenv?.script).toContain('.venv/bin/python -m pytest -q');
    const linked = repo({ 'tests/test_a.py': '', 'elsewhere/bin/python': '' });
    symlinkSync(join(linked, 'elsewhere'), join(linked, '.venv'));
    expect((await detectTests(linked))?.script).toContain('python3 -m pytest -q');
  });

  it('runs go test with the module cache a setup downloaded, and no proxy', async () => {
    expect((await detectTests(repo({ 'go.mod': 'module x' })))?.script).not.toContain('GOMODCACHE');
    const cached = await detectTests(repo({ 'go.mod': 'module x', '.gomodcache/cache/.keep': '' }));
    expect(cached?.script).toContain('export GOMODCACHE="$PWD/.gomodcache" GOPROXY=off\ngo test ./...');
  });

  it('says so when the tool is missing instead of failing the tests', async () => {
    const found = await detectTests(repo({ 'go.mod': 'module x' }));
    expect(found?.script).toContain('Go is not installed in the sandbox image, so the tests could not run.');
    expect(found?.script).toContain('exit 127');
  });
});

describe('review comments and the checklist', () => {
  it('knows which lines a review comment may point at', () => {
    const lines = commentableLines('@@ -10,3 +10,4 @@ fn\n context\n-old\n+new\n+added\n more');
    expect([...lines.RIGHT]).toEqual([10, 11, 12, 13]);
    expect([...lines.LEFT]).toEqual([10, 11, 12]);
    expect(commentableLines(undefined).RIGHT.size).toBe(0);
  });

  it('renders steps as a GitHub task list', () => {
    const list = new Checklist('**Working on issue #1**', [
      { key: 'a', label: 'Clone' },
      { key: 'b', label: 'Change' },
      { key: 'c', label: 'Test' },
    ]);
    list
      .set('a', 'done')
      .set('b', 'failed', 'exit 3')
      .skipRest()
      .addOutcome('**I could not finish:** exit 3');
    expect(list.render()).toBe(
      '**Working on issue #1**\n\n- [x] Clone\n- [ ] ❌ Change: exit 3\n- [ ] ~~Test~~\n\n**I could not finish:** exit 3',
    );
  });
});
