/**
 * Defence in depth on the host's own reads and writes of a checkout: test detection never opens a
 * FIFO, never follows a link (to /dev/zero, or `tests -> /`) and reads a bounded amount; the agent's
 * open_pull_request tool never writes through a link a cloned repository holds. Real files, a real
 * bare remote; GitHub's API through nock.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDeckhandError, loadConfig } from '../../src/core/index.js';
import { createGitHubAccess, createGitHubToolPort, detectTests } from '../../src/github/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { git } from './support.js';

useNockForThirdPartyApis();

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'deckhand-host-reads-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('test detection on a checkout', () => {
  it('does not open a FIFO named package.json (it would block forever)', async () => {
    const dir = folder('fifo');
    execFileSync('mkfifo', [join(dir, 'package.json')]);
    writeFileSync(join(dir, 'Makefile'), 'test:\n\ttrue\n');
    expect((await detectTests(dir))?.label).toBe('make test');
  });

  it('does not follow links: go.mod -> /dev/zero and tests -> / are not read or walked', async () => {
    const dir = folder('links');
    symlinkSync('/dev/zero', join(dir, 'go.mod'));
    symlinkSync('/', join(dir, 'tests'));
    symlinkSync('/etc/hostname', join(dir, 'pytest.ini'));
    const began = Date.now();
    expect(await detectTests(dir)).toBeUndefined();
    expect(Date.now() - began).toBeLessThan(2000);
  });

  it('skips an oversized config file and still finds pytest files in real folders', async () => {
    const dir = folder('big');
    writeFileSync(
      join(dir, 'package.json'),
      `{"scripts":{"test":"x"},"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`,
    );
    mkdirSync(join(dir, 'tests', 'unit'), { recursive: true });
    writeFileSync(join(dir, 'tests', 'unit', 'test_a.py'), 'def test_a(): pass\n');
    expect((await detectTests(dir))?.label).toBe('pytest');
  });
});

describe('open_pull_request on a repository with links', () => {
  const API = 'https://api.github.com';
  let remotes: string;
  let bare: string;
  let outside: string;
  let port: ReturnType<typeof createGitHubToolPort>;
  const actor = { platform: 'slack', workspaceId: 'T1', userId: 'U1', userName: 'alice' };

  beforeAll(() => {
    outside = folder('outside');
    remotes = folder('remotes');
    bare = join(remotes, 'acme', 'links.git');
    mkdirSync(bare, { recursive: true });
    git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
    const seed = folder('seed');
    git(['init', '--quiet', '--initial-branch=main', seed]);
    writeFileSync(join(seed, 'README.md'), 'hi\n');
    symlinkSync(outside, join(seed, 'docs'));
    symlinkSync(join(outside, 'target.txt'), join(seed, 'notes.txt'));
    git(['add', '--all'], seed);
    git(['-c', 'user.name=O', '-c', 'user.email=o@example.com', 'commit', '--quiet', '-m', 'links'], seed);
    git(['push', '--quiet', bare, 'HEAD:refs/heads/main'], seed);
    port = createGitHubToolPort({
      access: createGitHubAccess({
        token: 'ghp_linksTokenForTests0000000000',
        throttle: { enabled: false },
        retry: { enabled: false },
      }),
      settings: { ...loadConfig({}).github, cloneBaseUrl: `file://${remotes}` },
    });
  });
  afterEach(() => nock.cleanAll());

  it.each([
    ['a file under a linked folder', 'docs/pwned.md', /`docs` is a symbolic link in the repository/],
    ['a linked file', 'notes.txt', /it is a symbolic link in the repository/],
  ])('refuses to write %s, leaves the target alone and pushes nothing', async (_name, path, reason) => {
    nock(API).get('/repos/acme/links').reply(200, { default_branch: 'main' });
    const error = await port
      .openPullRequest({
        repo: 'acme/links',
        title: 'x',
        body: '',
        branch: `try/${path.replace(/\W/g, '-')}`,
        changes: [{ path, content: 'written by the model\n' }],
        actor,
      })
      .catch((e: unknown) => e);
    expect(isDeckhandError(error, 'BAD_REQUEST')).toBe(true);
    expect((error as Error).message).toMatch(reason);
    expect(readdirSync(outside)).toEqual([]);
    expect(git(['--git-dir', bare, 'branch', '--list', 'try/*']).trim()).toBe('');
  });
});
