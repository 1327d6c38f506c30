/**
 * Finding how a checkout installs its dependencies: a repository's own `.deckhand.yml` setup wins,
 * else one step per ecosystem (npm, Python into /work/.venv, Go); the cache key follows the lockfiles
 * (or the manifest without one) and the script, and never a file read through a link. Real files; the
 * scripts themselves run against the registry stand-ins in test/support/registry-stand-ins.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import { DEPENDENCY_FOLDERS, detectSetup, detectTests } from '../../src/github/index.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/repos');

const dirs: string[] = [];
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-setup-'));
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

const PACKAGE = JSON.stringify({ name: 'x', dependencies: { 'left-pad': '1.3.0' } });

describe('finding how a checkout installs its dependencies', () => {
  it('runs npm ci with a lockfile, npm install without one, and nothing without dependencies', async () => {
    const locked = await detectSetup(repo({ 'package.json': PACKAGE, 'package-lock.json': '{}' }));
    expect(locked).toMatchObject({ label: 'npm ci', lockfile: 'package-lock.json' });
    expect(locked?.script).toContain('npm ci --no-audit --no-fund');
    const shrinkwrapped = await detectSetup(repo({ 'package.json': PACKAGE, 'npm-shrinkwrap.json': '{}' }));
    expect(shrinkwrapped?.lockfile).toBe('npm-shrinkwrap.json');

    const unlocked = await detectSetup(repo({ 'package.json': PACKAGE }));
    expect(unlocked?.label).toBe('npm install');
    expect(unlocked?.lockfile).toBeUndefined();
    // No lockfile is written into the checkout, so none lands in the pull request.
    expect(unlocked?.script).toContain('npm install --no-audit --no-fund --no-package-lock');

    expect(
      await detectSetup(repo({ 'package.json': '{"name":"x","scripts":{"test":"node t.js"}}' })),
    ).toBeUndefined();
    expect(
      await detectSetup(repo({ 'package.json': '{"devDependencies":{}}', 'README.md': '' })),
    ).toBeUndefined();
  });

  it('installs Python requirements into a venv at .venv that still sees Debian’s pytest', async () => {
    const found = await detectSetup(
      repo({
        'requirements.txt': 'requests\n',
        'requirements-dev.txt': 'pytest-mock\n',
        'dev-requirements.txt': '',
      }),
    );
    expect(found?.label).toBe(
      'pip install -r requirements.txt -r requirements-dev.txt -r dev-requirements.txt',
    );
    expect(found?.lockfile).toBe('requirements.txt, requirements-dev.txt, dev-requirements.txt');
    expect(found?.script).toContain('python3 -m venv --system-site-packages --copies --without-pip .venv');
    expect(found?.script).toContain(
      '.venv/bin/python -m pip install --no-input -r requirements.txt -r requirements-dev.txt -r dev-requirements.txt',
    );
  });

  it('installs pyproject.toml’s [project] dependencies, and skips a pyproject without any', async () => {
    const listed = await detectSetup(
      repo({ 'pyproject.toml': '[project]\nname = "x"\ndependencies = [\n  "attrs>=23",\n]\n' }),
    );
    expect(listed?.label).toBe('pip install (pyproject.toml dependencies)');
    expect(listed?.lockfile).toBeUndefined();
    expect(listed?.script).toContain('import sys, tomllib');
    expect(listed?.script).toContain('-r /tmp/deckhand-pyproject-requirements.txt');
    expect(
      await detectSetup(repo({ 'pyproject.toml': '[project]\nname = "x"\ndependencies = []\n' })),
    ).toBeUndefined();
    expect(await detectSetup(repo({ 'pyproject.toml': '[tool.pytest.ini_options]\n' }))).toBeUndefined();
  });

  it('downloads Go modules into a cache inside the checkout and leaves go.sum as it was', async () => {
    const found = await detectSetup(repo({ 'go.mod': 'module x\n', 'go.sum': 'x v1 h1:abc\n' }));
    expect(found).toMatchObject({ label: 'go mod download', lockfile: 'go.sum' });
    expect(found?.script).toContain('export GOMODCACHE="$PWD/.gomodcache"');
    expect(found?.script).toContain('cp /tmp/deckhand-go.sum go.sum');
  });

  it('runs one step per ecosystem, in order, stopping at the first failure', async () => {
    const found = await detectSetup(
      repo({
        'package.json': PACKAGE,
        'package-lock.json': '{}',
        'requirements.txt': 'x\n',
        'go.mod': 'module x\n',
      }),
    );
    expect(found?.label).toBe('npm ci; pip install -r requirements.txt; go mod download');
    expect(found?.lockfile).toBe('package-lock.json, requirements.txt');
    expect(found?.script.startsWith('set -e\n')).toBe(true);
    const script = found?.script ?? '';
    expect(script.indexOf('npm ci')).toBeLessThan(script.indexOf('pip install'));
    expect(script.indexOf('pip install')).toBeLessThan(script.indexOf('go mod download'));
  });

  it('lets the repository’s .deckhand.yml setup win', async () => {
    const dir = repo({
      '.deckhand.yml': 'setup: make deps\n',
      'package.json': PACKAGE,
      'package-lock.json': '{}',
    });
    expect(await detectSetup(dir)).toMatchObject({ label: 'make deps', script: 'make deps' });
    // Settings read once by the caller are used as given.
    expect((await detectSetup(dir, { setup: 'pip install -e ".[test]"' }))?.label).toBe(
      '.deckhand.yml setup',
    );
    expect((await detectSetup(dir, {}))?.label).toBe('npm ci');
    const bad = await detectSetup(repo({ '.deckhand.yml': 'setup: [1]\n' })).catch((error: unknown) => error);
    expect(isDeckhandError(bad, 'BAD_REQUEST')).toBe(true);
  });

  it('keys the cache on the lockfile and the script, not on the manifest beside a lockfile', async () => {
    const dir = repo({ 'package.json': PACKAGE, 'package-lock.json': '{"lockfileVersion":3}' });
    const first = (await detectSetup(dir))?.lockHash;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect((await detectSetup(dir))?.lockHash).toBe(first);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '2.0.0' }));
    expect((await detectSetup(dir))?.lockHash).toBe(first);
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}');
    const second = (await detectSetup(dir))?.lockHash;
    expect(second).not.toBe(first);
    expect((await detectSetup(dir, { setup: 'npm ci --ignore-scripts' }))?.lockHash).not.toBe(second);

    const manifestOnly = repo({ 'package.json': PACKAGE });
    const before = (await detectSetup(manifestOnly))?.lockHash;
    writeFileSync(
      join(manifestOnly, 'package.json'),
      JSON.stringify({ dependencies: { 'left-pad': '1.3.1' } }),
    );
    expect((await detectSetup(manifestOnly))?.lockHash).not.toBe(before);
  });

  it('never reads a lockfile through a link, and never reuses a cache for one', async () => {
    const dir = repo({ 'package.json': PACKAGE });
    symlinkSync('/etc/hostname', join(dir, 'package-lock.json'));
    const first = await detectSetup(dir);
    expect(first?.label).toBe('npm ci');
    expect((await detectSetup(dir))?.lockHash).not.toBe(first?.lockHash);
  });

  it('names the installed folders that must never be committed', () => {
    expect(DEPENDENCY_FOLDERS).toEqual(expect.arrayContaining(['node_modules/', '.venv/', '.gomodcache/']));
  });

  it('finds the fixture repositories’ setup and tests', async () => {
    const node = join(FIXTURES, 'node-dep');
    expect(await detectSetup(node)).toMatchObject({ label: 'npm ci', lockfile: 'package-lock.json' });
    expect((await detectTests(node))?.label).toBe('npm test');
    const python = join(FIXTURES, 'python-dep');
    expect(await detectSetup(python)).toMatchObject({
      label: 'pip install -r requirements.txt',
      lockfile: 'requirements.txt',
    });
    expect((await detectTests(python))?.label).toBe('pytest');
  });
});
