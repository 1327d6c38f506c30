/**
 * A repository's own say in how Deckhand prepares and tests it: an optional `.deckhand.yml` (or
 * `.deckhand.yaml`) at the checkout's root with at most two fields, `setup` (a bash command that
 * installs dependencies) and `test` (a bash command that runs the tests). It is repository text, so
 * untrusted: only these two strings are taken, they are only ever run inside the sandbox, and anything
 * else in the file (another key, a number, a list) is refused with a message naming the file and the
 * problem, for the change flow to show in its tracking comment.
 *
 * Read it right after the clone, before any sandbox run has written to the checkout: the host parses
 * this file, and it should be the committed text. The read itself is as defensive as detect-tests.ts:
 * no link is followed, only a regular file is opened (non-blocking, so a FIFO cannot hang it), the size
 * is capped, and the YAML parser gets no custom tags and few aliases.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DeckhandError } from '../core/index.js';

export const SETTINGS_FILES = ['.deckhand.yml', '.deckhand.yaml'] as const;
/** A settings file larger than this is not a settings file. */
export const MAX_SETTINGS_BYTES = 64 * 1024;
export const MAX_COMMAND_CHARS = 2000;

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const command = (field: string) =>
  z
    .string({ error: `\`${field}\` must be a string (a bash command)` })
    .trim()
    .min(1, `\`${field}\` is empty`)
    .max(MAX_COMMAND_CHARS, `\`${field}\` is longer than ${MAX_COMMAND_CHARS} characters`);

export const repoSettingsSchema = z
  .object({ setup: command('setup').optional(), test: command('test').optional() })
  .strict();

export type RepoSettings = z.output<typeof repoSettingsSchema>;

/** What reading one file of a checkout found: its text, nothing, or a reason it was not read. */
export type CheckoutRead =
  | { kind: 'text'; text: string }
  | { kind: 'missing' }
  | { kind: 'refused'; reason: string };

/**
 * A checkout file's text: only a regular file, never through a link, at most `maxBytes`. Absent means
 * `missing`; a link, folder, FIFO or an oversized file is `refused` with a reason a person can read.
 */
export async function readCheckoutFile(path: string, maxBytes: number): Promise<CheckoutRead> {
  let before: Awaited<ReturnType<typeof lstat>>;
  try {
    before = await lstat(path);
  } catch {
    return { kind: 'missing' };
  }
  if (before.isSymbolicLink()) return { kind: 'refused', reason: 'it is a link, and links are not followed' };
  if (!before.isFile()) return { kind: 'refused', reason: 'it is not a regular file' };
  if (before.size > maxBytes) return { kind: 'refused', reason: `it is larger than ${maxBytes} bytes` };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, READ_FLAGS);
  } catch {
    return { kind: 'refused', reason: 'it could not be opened' };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { kind: 'refused', reason: 'it is not a regular file' };
    if (stat.size > maxBytes) return { kind: 'refused', reason: `it is larger than ${maxBytes} bytes` };
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { kind: 'text', text: buffer.subarray(0, bytesRead).toString('utf8') };
  } catch {
    return { kind: 'refused', reason: 'it could not be read' };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function badSettings(file: string, problem: string): DeckhandError {
  return new DeckhandError('BAD_REQUEST', `The repository's \`${file}\` could not be used: ${problem}.`);
}

/** Parses the text of a settings file named `file`; throws BAD_REQUEST naming the file and the problem. */
export function parseRepoSettings(file: string, text: string): RepoSettings {
  let value: unknown;
  try {
    // Few aliases (a "billion laughs" file stays small), duplicate keys refused, warnings not logged.
    value = parseYaml(text, { maxAliasCount: 10, uniqueKeys: true, logLevel: 'error' });
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : '';
    throw badSettings(file, `it is not valid YAML${reason ? ` (${reason.slice(0, 200)})` : ''}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badSettings(file, 'it must be a mapping with `setup` and/or `test`');
  }
  const parsed = repoSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => `\`${key.slice(0, 40)}\``).join(', ');
        return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys} (only \`setup\` and \`test\` are read)`;
      }
      return issue.message;
    });
    throw badSettings(file, problems.join('; '));
  }
  return parsed.data;
}

/**
 * The settings at `dir`'s root, `{}` when the repository has no settings file. Throws BAD_REQUEST
 * when the file cannot be used: both names present, a link or special file, too large, not YAML, or
 * not the expected shape.
 */
export async function readRepoSettings(dir: string): Promise<RepoSettings> {
  const found: { file: string; read: CheckoutRead }[] = [];
  for (const file of SETTINGS_FILES) {
    const read = await readCheckoutFile(join(dir, file), MAX_SETTINGS_BYTES);
    if (read.kind !== 'missing') found.push({ file, read });
  }
  const [first, second] = found;
  if (!first) return {};
  if (second) {
    throw badSettings(first.file, `the repository also has \`${second.file}\`; keep only one of the two`);
  }
  if (first.read.kind === 'refused') throw badSettings(first.file, first.read.reason);
  if (first.read.kind !== 'text') return {};
  return parseRepoSettings(first.file, first.read.text);
}
