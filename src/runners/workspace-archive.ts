/**
 * The only way files written in a sandbox reach the host: the work folder's tar stream, checked entry
 * by entry before anything is written, and written by the host itself into a folder it just created.
 *
 * Accepted: regular files, folders, and symbolic links whose target resolves inside the tree (or that
 * came in unchanged with the workspace). Refused, with the path and the reason: any `.git` path part
 * (a nested repository would have the host's git read its config, hooks and filters), anything inside
 * a sealed folder (a submodule), FIFOs, devices, sockets, hard links, paths that are absolute, not
 * normalized or not UTF-8, and duplicates. File contents have a byte budget (the disk limit) and the
 * stream and entry count have caps, so a sparse file or a flood of entries cannot fill the host disk.
 *
 * Writes use exclusive create and never follow a link: every parent is a folder created here, and a
 * symlink entry is created as a link, not written through.
 */
import { constants } from 'node:fs';
import { mkdir, open, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { type Extract, extract } from 'tar-stream';
import { DeckhandError } from '../core/index.js';

export interface ArchiveLimits {
  /** Bytes of file content in all (the work folder's size). */
  maxBytes: number;
  maxEntries: number;
}

export interface ArchiveRules {
  /** Folders (relative) nothing may be written into: submodule paths. */
  sealed: readonly string[];
  /** Links that came in with the workspace (path -> target): unchanged, they may point anywhere. */
  keptLinks: ReadonlyMap<string, string>;
}

type Kind = 'dir' | 'file' | 'symlink';
/** One entry of the archive being read: its header and a stream of its content. */
type Entry = Extract extends AsyncIterable<infer Source> ? Source : never;

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const MAX_LINK_DEPTH = 40;
/** Header blocks (and GNU long names or pax records) on top of the content, per entry. */
const HEADER_ALLOWANCE = 3 * 512;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Shows a sandbox-chosen path in a message: bounded, one line, no backticks. */
export function shownPath(path: string): string {
  const clean = [...path].map((c) => (c < ' ' || c === '\u007f' || c === '`' ? '?' : c)).join('');
  return clean.length > 120 ? `${clean.slice(0, 117)}…` : clean;
}

export function refused(path: string, why: string): DeckhandError {
  return new DeckhandError(
    'BAD_REQUEST',
    `I refused the files the sandbox left in the work folder: \`${shownPath(path)}\` ${why}. None of them were used.`,
  );
}

export function diskLimit(maxBytes: number): DeckhandError {
  return new DeckhandError(
    'PAYLOAD_TOO_LARGE',
    `The sandbox run hit its disk limit: its work folder held more than ${Math.round(maxBytes / 1024 / 1024)} MB, so I used none of its files.`,
  );
}

const TYPE_REASONS: Record<string, string> = {
  fifo: 'is a FIFO (named pipe)',
  'character-device': 'is a device',
  'block-device': 'is a device',
  link: 'is a hard link',
  'contiguous-file': 'has an unsupported file type',
};

/** The entry's path relative to the work folder ('' for the folder itself), or a refusal. */
export function entryPath(name: string): string {
  const raw = name.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (raw === '' || raw === '.') return '';
  if (name.includes('\0') || raw.includes('\uFFFD')) throw refused(raw, 'has a name that is not valid UTF-8');
  if (name.startsWith('/')) throw refused(raw, 'is an absolute path');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw refused(raw, 'has a path that is too long');
  const parts = raw.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') throw refused(raw, 'is not a normalized relative path');
    if (part.toLowerCase() === '.git') {
      throw refused(
        raw,
        'is a nested .git (a repository inside the checkout, whose settings the host would run)',
      );
    }
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) throw refused(raw, 'has a name that is too long');
  }
  return raw;
}

function sealedBy(path: string, sealed: readonly string[]): string | undefined {
  return sealed.find((folder) => path.startsWith(`${folder}/`));
}

/**
 * Where `target`, read as a link in folder `from`, ends up inside the tree (path parts), following the
 * tree's own links; undefined when it leaves the tree, loops, or passes through a `.git`.
 */
export function resolveInTree(
  from: readonly string[],
  target: string,
  links: ReadonlyMap<string, string>,
  depth = 0,
): string[] | undefined {
  if (target === '' || target.startsWith('/') || depth > MAX_LINK_DEPTH) return undefined;
  let at = [...from];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return undefined;
      at.pop();
      continue;
    }
    if (part.toLowerCase() === '.git') return undefined;
    const next = links.get([...at, part].join('/'));
    if (next === undefined) {
      at.push(part);
      continue;
    }
    const resolved = resolveInTree(at, next, links, depth + 1);
    if (!resolved) return undefined;
    at = resolved;
  }
  return at;
}

/** Counts the raw stream and stops it past `max` bytes. */
class ByteCap extends Transform {
  total = 0;
  constructor(
    private readonly max: number,
    private readonly error: () => Error,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.max) done(this.error());
    else done(null, chunk);
  }
}

interface Tally {
  entries: number;
  bytes: number;
  kinds: Map<string, Kind>;
  links: Map<string, string>;
}

async function writeFileEntry(entry: Entry, target: string, mode: number): Promise<number> {
  const handle = await open(target, WRITE_FLAGS, mode & 0o111 ? 0o755 : 0o644);
  let written = 0;
  try {
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return written;
}

async function takeEntry(
  entry: Entry,
  dest: string,
  tally: Tally,
  limits: ArchiveLimits,
  rules: ArchiveRules,
): Promise<void> {
  const header = entry.header;
  const path = entryPath(header.name);
  if (path === '') {
    if (header.type !== 'directory') throw refused('.', 'is not a folder');
    entry.resume();
    return;
  }
  if (++tally.entries > limits.maxEntries) {
    throw refused(path, `is one entry too many (at most ${limits.maxEntries} files, folders and links)`);
  }
  const type = header.type ?? 'file';
  if (type !== 'file' && type !== 'directory' && type !== 'symlink') {
    throw refused(path, TYPE_REASONS[type] ?? `has an unsupported type (${type})`);
  }
  const parent = posix.dirname(path);
  if (parent !== '.' && tally.kinds.get(parent) !== 'dir') {
    throw refused(path, 'is not inside a folder of the tree (its parent is a link, a file or missing)');
  }
  const seal = sealedBy(path, rules.sealed);
  if (seal) throw refused(path, `is inside the submodule folder \`${shownPath(seal)}\``);
  if (tally.kinds.has(path)) throw refused(path, 'appears twice');
  const target = join(dest, path);
  if (type === 'directory') {
    tally.kinds.set(path, 'dir');
    await mkdir(target, { mode: 0o755 });
    entry.resume();
    return;
  }
  if (type === 'symlink') {
    const link = header.linkname ?? '';
    if (link === '' || link.includes('\0') || Buffer.byteLength(link) > MAX_PATH_BYTES) {
      throw refused(path, 'is a link with an unusable target');
    }
    tally.kinds.set(path, 'symlink');
    tally.links.set(path, link);
    await symlink(link, target);
    entry.resume();
    return;
  }
  const size = header.size ?? 0;
  if (tally.bytes + size > limits.maxBytes) throw diskLimit(limits.maxBytes);
  tally.kinds.set(path, 'file');
  const written = await writeFileEntry(entry, target, header.mode ?? 0o644);
  tally.bytes += written;
  if (written !== size) throw refused(path, 'was cut short in the archive');
}

/** Links must stay inside the tree, unless they came in unchanged with the workspace. */
function checkLinks(tally: Tally, rules: ArchiveRules): void {
  for (const [path, target] of tally.links) {
    if (rules.keptLinks.get(path) === target) continue;
    const from = posix.dirname(path) === '.' ? [] : posix.dirname(path).split('/');
    if (!resolveInTree(from, target, tally.links)) {
      throw refused(
        path,
        `is a symbolic link pointing outside the work folder (to \`${shownPath(target)}\`)`,
      );
    }
  }
}

/**
 * Reads a tar of the work folder from `source` into `dest` (created here; it must not exist). Throws a
 * refusal or the disk limit, leaving `dest` for the caller to remove.
 */
export async function extractWorkTree(
  source: Readable,
  dest: string,
  limits: ArchiveLimits,
  rules: ArchiveRules,
): Promise<{ entries: number; bytes: number }> {
  await mkdir(dest, { mode: 0o755 });
  const cap = new ByteCap(limits.maxBytes + (limits.maxEntries + 4) * HEADER_ALLOWANCE + 20 * 512, () =>
    diskLimit(limits.maxBytes),
  );
  const parser = extract();
  source.on('error', (error) => cap.destroy(error));
  cap.on('error', (error) => parser.destroy(error));
  source.pipe(cap).pipe(parser);
  const tally: Tally = { entries: 0, bytes: 0, kinds: new Map(), links: new Map() };
  try {
    for await (const entry of parser) await takeEntry(entry, dest, tally, limits, rules);
  } catch (error) {
    source.destroy();
    throw error;
  }
  checkLinks(tally, rules);
  return { entries: tally.entries, bytes: tally.bytes };
}
