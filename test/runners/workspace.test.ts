/**
 * A run that carries a workspace, against the real engine and image: the host folder is copied in
 * (never mounted) and only a checked tree comes back. Everything the sandbox could plant to make the
 * host run, read or follow something (a nested .git, a FIFO, links leaving the tree, a socket) is
 * refused and leaves the host folder as it was; writing past the work folder's size ends with the
 * disk limit and nothing of it on the host.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatRunResult } from '../../src/bots/index.js';
import { isDeckhandError } from '../../src/core/index.js';
import { hostConfigFor, type SandboxRunner, WORK_DIR } from '../../src/runners/index.js';
import { ensureSandboxImage, leftovers, TEST_LIMITS, testDocker, testRunner } from './helpers.js';

const LIMITS = { ...TEST_LIMITS, workspaceMb: 24 };

let docker: Docker;
let runner: SandboxRunner;
let root: string;
let dir: string;

beforeAll(async () => {
  ensureSandboxImage();
  docker = testDocker();
  runner = testRunner(docker, { warmPool: 0, limits: LIMITS, reapIntervalMs: 0 });
  await runner.start();
});

afterAll(async () => {
  await runner?.close();
  expect(await leftovers(docker)).toEqual([]);
});

/** A small checkout: a file, an executable in a folder, an in-tree link and one pointing outside. */
function checkout(): string {
  root = mkdtempSync(join(tmpdir(), 'deckhand-wsrun-'));
  dir = join(root, 'work');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'README.md'), 'hello\n');
  writeFileSync(join(dir, 'bin', 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  symlinkSync('README.md', join(dir, 'readme-link'));
  symlinkSync('/etc/hostname', join(dir, 'host-link'));
  return dir;
}

/** Every path, kind and content (or link target) under `folder`, sorted: a snapshot to compare. */
function snapshot(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map(String)
    .sort()
    .map((path) => {
      const full = join(folder, path);
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) return `${path} -> ${readlinkSync(full)}`;
      if (stat.isDirectory()) return `${path}/`;
      return `${path} ${(stat.mode & 0o111) !== 0 ? 'x' : '-'} ${readFileSync(full, 'utf8')}`;
    });
}

function run(code: string, extra: { sealed?: string[]; timeoutSeconds?: number } = {}) {
  return runner.run({
    lang: 'bash',
    code,
    workspace: { dir, collect: true, ...(extra.sealed ? { sealed: extra.sealed } : {}) },
    ...(extra.timeoutSeconds ? { timeoutSeconds: extra.timeoutSeconds } : {}),
  });
}

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a workspace run', () => {
  it('gets a tmpfs work folder sized for a checkout and no host folder at all', () => {
    const config = hostConfigFor(LIMITS, { network: 'none', workspace: true });
    expect(config.Mounts).toBeUndefined();
    expect(config.Binds).toBeUndefined();
    expect(config.Tmpfs?.[WORK_DIR]).toMatch(/size=24m,nr_inodes=\d+/);
    // tmpfs pages count as memory: the program keeps its own memory limit beside a full work folder.
    expect(config.Memory).toBe((LIMITS.memoryMb + 24) * 1024 * 1024);
  });

  it('sees the checkout, and its changes come back as host-written files, folders and links', async () => {
    checkout();
    const result = await run(
      [
        'cat README.md; readlink host-link',
        'echo changed >> README.md',
        'mkdir -p src/deep && echo new > src/deep/file.txt',
        'ln -s ../README.md src/readme',
        'rm bin/run.sh',
      ].join('\n'),
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hello\n/etc/hostname\n', workspace: 'saved' });
    expect(snapshot(dir)).toEqual([
      'README.md - hello\nchanged\n',
      'bin/',
      'host-link -> /etc/hostname',
      'readme-link -> README.md',
      'src/',
      'src/deep/',
      'src/deep/file.txt - new\n',
      'src/readme -> ../README.md',
    ]);
  });

  const refusals: [string, string, RegExp][] = [
    [
      'a nested .git',
      'mkdir -p vendor/lib/.git && printf "[filter \\"x\\"]\\n\\tclean = touch /tmp/pwned\\n" > vendor/lib/.git/config',
      /`vendor\/lib\/\.git` is a nested \.git/,
    ],
    ['a .git in another case', 'mkdir -p a/.GIT', /`a\/\.GIT` is a nested \.git/],
    ['a FIFO named package.json', 'mkfifo package.json', /`package\.json` is a FIFO/],
    [
      'a link to /dev/zero',
      'ln -s /dev/zero go.mod',
      /`go\.mod` is a symbolic link pointing outside.*`\/dev\/zero`/,
    ],
    ['a link to the root folder', 'ln -s / tests', /`tests` is a symbolic link pointing outside/],
    [
      'a link leaving the tree through another link',
      'mkdir d; ln -s d/.. up; ln -s up/.. out',
      /`out` is a symbolic link pointing outside/,
    ],
    [
      'a new link through a kept outside link',
      'ln -s host-link again',
      /`again` is a symbolic link pointing outside/,
    ],
    [
      'a changed outside link',
      'ln -sfn /etc/shadow host-link',
      /`host-link` is a symbolic link pointing outside/,
    ],
    [
      'a socket',
      'python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\'s.sock\')"',
      /`s\.sock` is a socket/,
    ],
  ];

  it.each(refusals)('refuses %s and leaves the host folder as it was', async (_name, code, reason) => {
    checkout();
    const before = snapshot(dir);
    const error = await run(code).catch((e: unknown) => e);
    expect(isDeckhandError(error, 'BAD_REQUEST')).toBe(true);
    expect((error as Error).message).toMatch(/^I refused the files the sandbox left in the work folder: /);
    expect((error as Error).message).toMatch(reason);
    expect(snapshot(dir)).toEqual(before);
    // Nothing half-written is left beside it either.
    expect(readdirSync(root)).toEqual(['work']);
  });

  it('refuses files written into a sealed (submodule) folder', async () => {
    checkout();
    mkdirSync(join(dir, 'vendor', 'lib'), { recursive: true });
    const error = await run('echo x > vendor/lib/file', { sealed: ['vendor/lib'] }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      '`vendor/lib/file` is inside the submodule folder `vendor/lib`',
    );
    expect(existsSync(join(dir, 'vendor', 'lib', 'file'))).toBe(false);
  });

  it('copies hard links back as plain files and reads files the program made unreadable', async () => {
    checkout();
    const result = await run('ln README.md twin; chmod 000 README.md');
    expect(result.workspace).toBe('saved');
    expect(readFileSync(join(dir, 'twin'), 'utf8')).toBe('hello\n');
    expect(lstatSync(join(dir, 'twin')).isFile()).toBe(true);
  });

  it('discards the changes of a run that did not finish', async () => {
    checkout();
    const before = snapshot(dir);
    const result = await run('echo half > README.md; sleep 60', { timeoutSeconds: 2 });
    expect(result).toMatchObject({ timedOut: true, workspace: 'discarded' });
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('the disk limit', () => {
  it('ends a run that fills the work folder with diskFull, and the host gets at most the limit', async () => {
    checkout();
    const result = await run('head -c 64m /dev/zero > big; echo "exit $?"');
    expect(result).toMatchObject({ diskFull: true, workspace: 'saved' });
    expect(result.stderr).toContain('No space left on device');
    expect(statSync(join(dir, 'big')).size).toBeLessThanOrEqual(LIMITS.workspaceMb * 1024 * 1024);
  });

  it('refuses a sparse file larger than the limit before writing any of it', async () => {
    checkout();
    const before = snapshot(dir);
    const error = await run('truncate -s 20G sparse').catch((e: unknown) => e);
    expect(isDeckhandError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('hit its disk limit');
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(root)).toEqual(['work']);
  });

  it('flags a plain run that fills its work folder, shown as "disk limit"', async () => {
    const result = await runner.run({ lang: 'bash', code: 'head -c 64m /dev/zero > /work/big' });
    expect(result).toMatchObject({ exitCode: 1, diskFull: true });
    // What a chat user sees for `run bash`.
    expect(formatRunResult('bash', result)).toMatch(/^`bash` exited 1 in \d+ ms \(disk limit\)/);
    const fine = await runner.run({ lang: 'bash', code: 'head -c 1m /dev/zero > /work/small' });
    expect(fine.diskFull).toBeUndefined();
  });

  it('refuses a checkout larger than the work folder before starting a container', async () => {
    checkout();
    writeFileSync(join(dir, 'huge.bin'), Buffer.alloc(25 * 1024 * 1024));
    const error = await run('true').catch((e: unknown) => e);
    expect(isDeckhandError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('sandbox.workspaceMb');
  });
});
