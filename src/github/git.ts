/**
 * The host side of a pull request: git through the git CLI, in a workspace whose metadata is kept
 * out of what the sandbox sees.
 *
 *   <root>/work   the checkout; it has no `.git` at all. It is copied into the sandbox (never mounted)
 *                 and rewritten by the host from the sandbox's checked result (src/runners/workspace.ts),
 *                 so it only ever holds host-written files, folders and links that stay inside it
 *   <root>/git    the repository (objects, refs, config), never copied
 *
 * Why: sandboxed code that could write `.git/config`, `.git/hooks`, or a nested repository's config
 * would have the host run its commands (core.fsmonitor, hooks, filter drivers, submodule recursion).
 * The runner refuses any `.git` in what comes back; here, every command names --git-dir and
 * --work-tree explicitly, reads no system, global or user config, attributes or excludes, runs no
 * hooks, and never looks into submodules.
 *
 * The token never lands on disk or in argv: it travels in GIT_CONFIG_* environment variables as an
 * http.extraHeader scoped to the clone URL's origin, for that one git process only.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeckhandError } from '../core/index.js';

export interface Workspace {
  root: string;
  /** The checkout (copied into the sandbox and back). */
  workDir: string;
  /** The repository metadata (never leaves the host). */
  gitDir: string;
}

export interface Remote {
  /** e.g. https://github.com/acme/widgets.git, or file:///srv/git/acme/widgets.git in tests. */
  url: string;
  /** Sent as HTTP basic auth (x-access-token) to the URL's origin; ignored for file:// remotes. */
  token?: string | undefined;
}

export interface Author {
  name: string;
  email: string;
}

const GIT_TIMEOUT_MS = 10 * 60_000;

/**
 * Options every command gets: no hooks, no fsmonitor, no credential helper remembering a token, no
 * attributes file outside the repository, no submodule recursion, no `ext::` transport.
 */
const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'core.attributesFile=/dev/null',
  'credential.helper=',
  'commit.gpgsign=false',
  'advice.detachedHead=false',
  'submodule.recurse=false',
  'diff.ignoreSubmodules=all',
  'status.submoduleSummary=false',
  'protocol.ext.allow=never',
].flatMap((setting) => ['-c', setting]);

function gitEnv(remote?: Remote): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    // Neither the host's nor the user's git config (credential helpers, url rewrites) applies.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    // No /etc/gitattributes; no replace refs rewriting what is committed.
    GIT_ATTR_NOSYSTEM: '1',
    GIT_NO_REPLACE_OBJECTS: '1',
    HOME: tmpdir(),
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    LANG: 'C',
  };
  if (remote?.token && /^https?:/i.test(remote.url)) {
    const origin = new URL(remote.url).origin;
    const basic = Buffer.from(`x-access-token:${remote.token}`).toString('base64');
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = `http.${origin}/.extraheader`;
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

function scrub(text: string, remote?: Remote): string {
  let out = text;
  if (remote?.token) {
    out = out.replaceAll(remote.token, '***');
    out = out.replaceAll(Buffer.from(`x-access-token:${remote.token}`).toString('base64'), '***');
  }
  return out;
}

interface GitCall {
  args: string[];
  what: string;
  remote?: Remote;
  /** Failures of network steps may pass; local ones will not. */
  retryable?: boolean;
  cwd?: string;
}

function git(call: GitCall): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...SAFE_CONFIG, ...call.args],
      {
        env: gitEnv(call.remote),
        cwd: call.cwd ?? tmpdir(),
        timeout: GIT_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const said = scrub(String(stderr || error.message), call.remote)
          .trim()
          .split('\n')
          .filter((line) => line && !line.startsWith('hint:'))
          .slice(-3)
          .join(' / ');
        reject(
          new DeckhandError('UPSTREAM_FAILED', `git could not ${call.what}: ${said || 'it failed'}.`, {
            retryable: call.retryable ?? false,
          }),
        );
      },
    );
  });
}

/**
 * Caches tools leave behind in the checkout (the sandbox's HOME is the checkout). Applies only to
 * untracked files, so a repository that tracks such a path keeps it.
 */
const UNTRACKED_NOISE = ['__pycache__/', '*.pyc', '.pytest_cache/', '.npm/', '.cache/', 'node_modules/', ''];
const EXCLUDES_FILE = 'exclude';

function local(ws: Workspace, args: string[], what: string): Promise<string> {
  return git({
    args: [
      '--git-dir',
      ws.gitDir,
      '--work-tree',
      ws.workDir,
      '-c',
      `core.excludesFile=${join(ws.root, EXCLUDES_FILE)}`,
      ...args,
    ],
    what,
  });
}

export async function createWorkspace(parent = ''): Promise<Workspace> {
  const base = parent || tmpdir();
  await mkdir(base, { recursive: true });
  const root = await mkdtemp(join(base, 'deckhand-gh-'));
  await writeFile(join(root, EXCLUDES_FILE), UNTRACKED_NOISE.join('\n'));
  return { root, workDir: join(root, 'work'), gitDir: join(root, 'git') };
}

export async function removeWorkspace(ws: Workspace): Promise<void> {
  await rm(ws.root, { recursive: true, force: true });
}

/** Branch names on the remote that start with `prefix` (e.g. `deckhand/7-`). */
export async function remoteBranches(remote: Remote, prefix: string): Promise<string[]> {
  const out = await git({
    args: ['ls-remote', '--heads', remote.url],
    what: 'list the branches of the repository',
    remote,
    retryable: true,
  });
  return out
    .split('\n')
    .map((line) => line.split('\t')[1]?.replace(/^refs\/heads\//, '') ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** A shallow clone of `branch` into the workspace; the checkout is left without any `.git`. */
export async function cloneBranch(ws: Workspace, remote: Remote, branch: string): Promise<void> {
  await git({
    args: [
      'clone',
      '--quiet',
      '--depth',
      '1',
      '--single-branch',
      '--no-tags',
      '--branch',
      branch,
      '--separate-git-dir',
      ws.gitDir,
      remote.url,
      ws.workDir,
    ],
    what: `clone ${branch}`,
    remote,
    retryable: true,
  });
  await rm(join(ws.workDir, '.git'), { force: true });
}

/** Submodule folders of the checkout (gitlinks): the sandbox may not write into them. */
export async function submodulePaths(ws: Workspace): Promise<string[]> {
  const out = await local(ws, ['ls-files', '--stage', '-z'], 'list the files');
  return out
    .split('\0')
    .filter((entry) => entry.startsWith('160000 '))
    .map((entry) => entry.slice(entry.indexOf('\t') + 1))
    .filter(Boolean);
}

/** Paths changed in the checkout since the last commit (added, modified, deleted). */
/**
 * Patterns git treats as ignored in this checkout (its own `info/exclude`, in the host-only git
 * folder): what a dependency install leaves there is never part of a change.
 */
export async function excludeFromChanges(ws: Workspace, patterns: readonly string[]): Promise<void> {
  const dir = join(ws.gitDir, 'info');
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, 'exclude'), `\n# installed by Deckhand's setup step\n${patterns.join('\n')}\n`);
}

export async function changedPaths(ws: Workspace): Promise<string[]> {
  const out = await local(
    ws,
    ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=all'],
    'read the changes',
  );
  return out
    .split('\0')
    .filter(Boolean)
    .map((entry) => entry.slice(3))
    .filter((path) => path && !/^[A-Z?!]{1,2}$/.test(path));
}

export async function headCommit(ws: Workspace): Promise<{ sha: string; message: string }> {
  const out = await local(ws, ['log', '-1', '--format=%H%n%B'], 'read the last commit');
  const [sha = '', ...message] = out.split('\n');
  return { sha, message: message.join('\n').trim() };
}

/** Commits every change in the checkout as `author`; returns the new commit's sha. */
export async function commitAll(ws: Workspace, author: Author, message: string): Promise<string> {
  await local(ws, ['add', '--all'], 'stage the changes');
  await local(
    ws,
    [
      '-c',
      `user.name=${author.name}`,
      '-c',
      `user.email=${author.email}`,
      'commit',
      '--quiet',
      '--no-verify',
      '--author',
      `${author.name} <${author.email}>`,
      '-m',
      message,
    ],
    'commit the changes',
  );
  return (await headCommit(ws)).sha;
}

/** Pushes HEAD to `branch`; a rejected push (someone else pushed first) may be tried again. */
export async function pushBranch(ws: Workspace, remote: Remote, branch: string): Promise<void> {
  await git({
    args: ['--git-dir', ws.gitDir, 'push', '--quiet', remote.url, `HEAD:refs/heads/${branch}`],
    what: `push ${branch}`,
    remote,
    retryable: true,
  });
}
