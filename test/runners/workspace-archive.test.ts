/**
 * The checks on a work folder's tar, fed archives no well-behaved `tar -c` would write (as a
 * tampered stream could): every entry that could make the host write outside the folder, follow a
 * link, or open something that is not a regular file is refused, and nothing is written through a
 * link. Real files on a real disk; the archives are built with tar-stream.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Header, pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import { extractWorkTree, resolveInTree } from '../../src/runners/index.js';

type Item = Partial<Header> & { name: string; data?: string };

let root: string;
let dest: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'deckhand-archive-'));
  dest = join(root, 'incoming');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function archive(items: Item[]): Readable {
  const tar = pack();
  for (const { data, ...header } of items) tar.entry(header, data ?? '');
  tar.finalize();
  return Readable.from(tar);
}

const rules = { sealed: [], keptLinks: new Map<string, string>() };
const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };

async function extracted(items: Item[], options: Partial<typeof limits> = {}): Promise<unknown> {
  return extractWorkTree(archive(items), dest, { ...limits, ...options }, rules).catch((e: unknown) => e);
}

describe('reading a work folder archive', () => {
  it('writes files, folders and in-tree links, with only the executable bit kept', async () => {
    const result = await extracted([
      { name: './', type: 'directory' },
      { name: './src/', type: 'directory' },
      { name: './src/a.sh', data: 'echo\n', mode: 0o4777 },
      { name: './src/b.txt', data: 'b\n', mode: 0o600 },
      { name: './link', type: 'symlink', linkname: 'src/b.txt' },
    ]);
    expect(result).toEqual({ entries: 4, bytes: 7 });
    expect(lstatSync(join(dest, 'src/a.sh')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(dest, 'src/b.txt')).mode & 0o7777).toBe(0o644);
    expect(readFileSync(join(dest, 'link'), 'utf8')).toBe('b\n');
  });

  const refused: [string, Item[], RegExp][] = [
    ['an absolute path', [{ name: '/etc/cron.d/x', data: 'x' }], /is an absolute path/],
    ['a path with ..', [{ name: './../escape', data: 'x' }], /not a normalized relative path/],
    ['a path with an empty part', [{ name: 'a//b', data: 'x' }], /not a normalized relative path/],
    ['a .git anywhere', [{ name: 'x/.git', type: 'directory' }], /nested \.git/],
    [
      'a file under a link',
      [
        { name: 'l', type: 'symlink', linkname: '.' },
        { name: 'l/f', data: 'x' },
      ],
      /parent is a link/,
    ],
    [
      'a file with no folder entry',
      [{ name: 'missing/f', data: 'x' }],
      /parent is a link, a file or missing/,
    ],
    [
      'a duplicate',
      [
        { name: 'f', data: 'x' },
        { name: 'f', data: 'y' },
      ],
      /appears twice/,
    ],
    [
      'a hard link',
      [
        { name: 'f', data: 'x' },
        { name: 'g', type: 'link', linkname: 'f' },
      ],
      /is a hard link/,
    ],
    [
      'a character device',
      [{ name: 'zero', type: 'character-device', devmajor: 1, devminor: 5 }],
      /is a device/,
    ],
    ['a block device', [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], /is a device/],
    ['a FIFO', [{ name: 'p', type: 'fifo' }], /is a FIFO/],
    ['an absolute link', [{ name: 'l', type: 'symlink', linkname: '/etc/passwd' }], /pointing outside/],
    ['a link up and out', [{ name: 'l', type: 'symlink', linkname: '../../x' }], /pointing outside/],
    ['a link into a .git', [{ name: 'l', type: 'symlink', linkname: 'a/.git/config' }], /pointing outside/],
    [
      'a loop of links',
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a' },
      ],
      /pointing outside/,
    ],
  ];

  it.each(refused)('refuses %s', async (_name, items, reason) => {
    const error = await extracted(items);
    expect(isDeckhandError(error, 'BAD_REQUEST')).toBe(true);
    expect((error as Error).message).toMatch(reason);
    // Nothing left the folder being written.
    expect(readdirSync(root)).toEqual(existsSync(dest) ? ['incoming'] : []);
  });

  it('stops at the byte budget before writing a file past it', async () => {
    const error = await extracted([{ name: 'big', data: 'x'.repeat(2048) }], { maxBytes: 1024 });
    expect(isDeckhandError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(existsSync(join(dest, 'big'))).toBe(false);
  });

  it('stops at the entry cap', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: '' }));
    const error = await extracted(many, { maxEntries: 3 });
    expect((error as Error).message).toMatch(/one entry too many/);
  });

  it('keeps a link that came in unchanged, even pointing outside', async () => {
    const kept = { sealed: [], keptLinks: new Map([['etc', '/etc']]) };
    const ok = await extractWorkTree(
      archive([{ name: 'etc', type: 'symlink', linkname: '/etc' }]),
      dest,
      limits,
      kept,
    );
    expect(ok).toEqual({ entries: 1, bytes: 0 });
  });
});

describe('where a link resolves', () => {
  const links = new Map([
    ['self', '.'],
    ['docs', 'site/docs'],
  ]);
  it('follows the tree own links and stays lexical otherwise', () => {
    expect(resolveInTree([], 'docs/../x', links)).toEqual(['site', 'x']);
    expect(resolveInTree(['a'], '../b', links)).toEqual(['b']);
  });
  it('sees that a link through a link to the top leaves the tree', () => {
    expect(resolveInTree([], 'self/..', links)).toBeUndefined();
    expect(resolveInTree([], '/abs', links)).toBeUndefined();
  });
});
