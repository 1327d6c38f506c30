/**
 * Writes file changes a model asked for (the open_pull_request tool) into a fresh checkout, never
 * through a link: a cloned repository may hold symbolic links pointing anywhere on the host
 * (`docs -> /etc`), and writing `docs/x` or a linked file would write outside the checkout. Every
 * parent must be a real folder (missing ones are created), the file itself must be a regular file
 * or absent, and it is opened with O_NOFOLLOW.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DeckhandError } from '../core/index.js';

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;

function refuse(path: string, why: string): DeckhandError {
  return new DeckhandError('BAD_REQUEST', `I did not change "${path}": ${why}.`);
}

async function statOf(path: string) {
  return lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

/**
 * Sets `path` (normalized, relative, checked by the caller) under `root` to `content`, or deletes it
 * when content is null.
 */
export async function applyFileChange(root: string, path: string, content: string | null): Promise<void> {
  const parts = path.split('/');
  if (parts.some((part) => part.toLowerCase() === '.git' || part === '..' || part === '')) {
    throw refuse(path, 'it is not a file path inside the repository');
  }
  let at = root;
  for (const [index, part] of parts.slice(0, -1).entries()) {
    at = join(at, part);
    const stat = await statOf(at);
    if (!stat) {
      if (content === null) return; // nothing there to delete
      await mkdir(at, { mode: 0o755 });
      continue;
    }
    if (!stat.isDirectory()) {
      const what = stat.isSymbolicLink() ? 'a symbolic link' : 'a file';
      throw refuse(
        path,
        `\`${parts.slice(0, index + 1).join('/')}\` is ${what} in the repository, and I do not write through it`,
      );
    }
  }
  const target = join(root, path);
  const stat = await statOf(target);
  if (content === null) {
    if (stat?.isDirectory()) throw refuse(path, 'it is a folder');
    if (stat) await unlink(target); // a link is removed itself, never what it points to
    return;
  }
  if (stat?.isSymbolicLink()) throw refuse(path, 'it is a symbolic link in the repository');
  if (stat && !stat.isFile()) throw refuse(path, 'it is not a regular file');
  const handle = await open(target, WRITE_FLAGS, 0o644);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}
