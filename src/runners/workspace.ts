/**
 * A workspace run: a host folder (a checkout) is copied into the container, never mounted. In, the
 * host's tree (regular files, folders, links; links sent as links, never followed) goes with the
 * program in the payload's tar (payload.ts), unpacked onto the work folder's size-limited tmpfs. Out,
 * after the run, `tar -c` of the work folder (container.ts archiveWorkDir) is checked entry by entry
 * (workspace-archive.ts) into a fresh folder next to the checkout, which then replaces it. So the host
 * folder only ever holds what the host wrote: nothing the sandbox made is opened, followed or run.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { DeckhandError } from '../core/index.js';
import type { SandboxContainer } from './container.js';
import { WORKSPACE_MAX_ENTRIES } from './limits.js';
import { type ArchiveRules, diskLimit, extractWorkTree, shownPath } from './workspace-archive.js';

export interface HostTreeEntry {
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  size: number;
  mode: number;
  target?: string;
}

export interface HostTree {
  entries: HostTreeEntry[];
  /** Links sent in (path -> target): unchanged, they may come back even if they point outside. */
  links: Map<string, string>;
  /** Bytes the tree takes on a tmpfs (each file rounded up to whole pages). */
  footprint: number;
}

/** How long reading the work folder back may take before the run is given up. */
export const COLLECT_TIMEOUT_MS = 120_000;
const PAGE = 4096;

function kindOf(stat: Stats): HostTreeEntry['kind'] | undefined {
  if (stat.isDirectory()) return 'dir';
  if (stat.isFile()) return 'file';
  if (stat.isSymbolicLink()) return 'symlink';
  return undefined;
}

/** The host folder's tree, breadth first, bounded by the work folder's size and entry count. */
export async function scanHostTree(root: string, maxBytes: number): Promise<HostTree> {
  const entries: HostTreeEntry[] = [];
  const links = new Map<string, string>();
  let footprint = 0;
  const queue = [''];
  for (let folder = queue.shift(); folder !== undefined; folder = queue.shift()) {
    const names = (await readdir(join(root, folder))).sort();
    for (const name of names) {
      const path = folder ? `${folder}/${name}` : name;
      const stat = await lstat(join(root, path));
      const kind = kindOf(stat);
      if (!kind) {
        throw new DeckhandError(
          'BAD_REQUEST',
          `The workspace holds \`${shownPath(path)}\`, which is not a file, folder or link.`,
        );
      }
      const entry: HostTreeEntry = { path, kind, size: kind === 'file' ? stat.size : 0, mode: stat.mode };
      if (kind === 'dir') queue.push(path);
      if (kind === 'symlink') {
        entry.target = await readlink(join(root, path));
        links.set(path, entry.target);
      }
      footprint += Math.ceil(entry.size / PAGE) * PAGE;
      entries.push(entry);
      if (entries.length > WORKSPACE_MAX_ENTRIES || footprint > maxBytes) {
        throw new DeckhandError(
          'PAYLOAD_TOO_LARGE',
          `The checkout is larger than the sandbox's work folder (${Math.round(maxBytes / 1024 / 1024)} MB, at most ${WORKSPACE_MAX_ENTRIES} entries); raise sandbox.workspaceMb to work on it.`,
        );
      }
    }
  }
  return { entries, links, footprint };
}

/** Streams one host file into the tar, refusing anything that is not the regular file scanned. */
async function packFile(tar: ReturnType<typeof pack>, root: string, entry: HostTreeEntry, name: string) {
  const handle = await open(join(root, entry.path), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size !== entry.size) {
      throw new DeckhandError(
        'SANDBOX_FAILED',
        `The workspace file ${shownPath(entry.path)} changed while it was sent.`,
      );
    }
    let sink: ReturnType<typeof tar.entry> | undefined;
    const written = new Promise<void>((resolve, reject) => {
      sink = tar.entry({ name, size: entry.size, mode: entry.mode & 0o111 ? 0o755 : 0o644 }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
    if (!sink) throw new Error('tar-stream did not open an entry');
    const into = sink;
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      if (!into.write(chunk)) await new Promise<void>((resolve) => into.once('drain', () => resolve()));
    }
    into.end(null);
    await written;
  } finally {
    await handle.close();
  }
}

/**
 * The payload of a workspace run: `header`, then one tar unpacked at `/` holding the program files
 * under `programDir` and the host tree under the work folder.
 */
export function workspacePayload(
  header: Buffer,
  program: { dir: string; files: Map<string, Buffer> },
  tree: HostTree,
  root: string,
  workDir: string,
): Readable {
  const tar = pack();
  const fill = async () => {
    const programDir = program.dir.replace(/^\/+/, '');
    tar.entry({ name: `${programDir}/`, type: 'directory', mode: 0o755 });
    for (const [name, data] of program.files) {
      tar.entry({ name: `${programDir}/${name}`, size: data.length, mode: 0o644 }, data);
    }
    const base = workDir.replace(/^\/+/, '');
    for (const entry of tree.entries) {
      const name = `${base}/${entry.path}`;
      if (entry.kind === 'dir') tar.entry({ name: `${name}/`, type: 'directory', mode: 0o755 });
      else if (entry.kind === 'symlink') {
        tar.entry({ name, type: 'symlink', linkname: entry.target ?? '', mode: 0o777 });
      } else await packFile(tar, root, entry, name);
    }
    tar.finalize();
  };
  fill().catch((error: unknown) => tar.destroy(error instanceof Error ? error : new Error(String(error))));
  return Readable.from(
    (async function* () {
      yield header;
      for await (const chunk of tar) yield chunk as Buffer;
    })(),
  );
}

/**
 * Reads the work folder of a finished workspace run back into `dir`: checked into a fresh sibling
 * folder, which then replaces `dir`. On any refusal `dir` is left as it was.
 */
export async function collectWorkspace(
  container: SandboxContainer,
  dir: string,
  maxBytes: number,
  rules: ArchiveRules,
): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const incoming = join(dirname(dir), `.${basename(dir)}-incoming-${suffix}`);
  const previous = join(dirname(dir), `.${basename(dir)}-previous-${suffix}`);
  const archive = await container.archiveWorkDir();
  // A race, not a signal: extractWorkTree and tar's exit take none; on the deadline the stream is cut.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      archive.stop();
      reject(
        new DeckhandError('SANDBOX_TIMEOUT', 'Reading the work folder back from the sandbox took too long.'),
      );
    }, COLLECT_TIMEOUT_MS);
  });
  timeout.catch(() => undefined);
  try {
    await Promise.race([
      extractWorkTree(archive.stdout, incoming, { maxBytes, maxEntries: WORKSPACE_MAX_ENTRIES }, rules),
      timeout,
    ]);
    const { exitCode, stderr } = await Promise.race([archive.finished, timeout]);
    const socket = /tar: \.\/(.*): socket ignored/.exec(stderr)?.[1];
    if (socket !== undefined) {
      throw new DeckhandError(
        'BAD_REQUEST',
        `I refused the files the sandbox left in the work folder: \`${shownPath(socket)}\` is a socket. None of them were used.`,
      );
    }
    if (exitCode !== 0) {
      if (/No space left/i.test(stderr)) throw diskLimit(maxBytes);
      throw new DeckhandError('SANDBOX_FAILED', 'The work folder could not be read back from the sandbox.', {
        detail: `tar exited ${exitCode}: ${stderr.slice(0, 500)}`,
      });
    }
    await rename(dir, previous);
    await rename(incoming, dir);
  } catch (error) {
    archive.stop();
    await rm(incoming, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
    await rm(previous, { recursive: true, force: true }).catch(() => undefined);
  }
}
