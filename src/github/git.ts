/**
 * The host side of a pull request: git through the git CLI, in a workspace whose metadata is kept
 * out of what the sandbox sees.
 *
 *   <root>/work   the checkout, mounted into the sandbox; it has no `.git` at all
 *   <root>/git    the repository (objects, refs, config), never mounted
 *
 * Why: sandboxed code that could write `.git/config` or `.git/hooks` would have the host run its
 * commands on the next `git commit` (core.fsmonitor, hooks). Every command here names --git-dir and
 * --work-tree explicitly, so a `.git` file or folder the sandbox creates is never read.
 *
 * The token never lands on disk or in argv: it travels in GIT_CONFIG_* environment variables as an
 * http.extraHeader scoped to the clone URL's origin, for that one git process only.
 */
import { execFile } from 'node:child_process';
import { lchown, lstat, mkdir, mkdtemp, readdir, rm, chmod as setMode, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeckhandError } from '../core/index.js';
import { SANDBOX_UID } from '../runners/index.js';

export interface Workspace {
  root: string;
  /** The checkout (mounted into the sandbox). */
  workDir: string;
  /** The repository metadata (never mounted). */
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

/** Options every command gets: no hooks, no fsmonitor, no credential helper remembering a token. */
const SAFE_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'credential.helper=',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'advice.detachedHead=false',
];

function gitEnv(remote?: Remote): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    // Neither the host's nor the user's git config (credential helpers, url rewrites) applies.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
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

/**
 * Lets the sandbox user (uid SANDBOX_UID) write the checkout: as root, by handing it the files
 * ('owned'); otherwise by opening their modes ('opened': the workspace root stays closed to other
 * users, and what the sandbox creates must be opened again before this user can delete it).
 */
export async function shareWithSandbox(ws: Workspace): Promise<'owned' | 'opened'> {
  const entries = [
    ws.workDir,
    ...(await readdir(ws.workDir, { recursive: true })).map((p) => join(ws.workDir, p)),
  ];
  if (process.getuid?.() === 0) {
    for (const path of entries) await lchown(path, SANDBOX_UID, SANDBOX_UID);
    return 'owned';
  }
  await setMode(ws.root, 0o711);
  for (const path of entries) {
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) continue;
    await setMode(path, stat.isDirectory() ? 0o777 : (stat.mode & 0o777) | 0o666);
  }
  return 'opened';
}

/** Paths changed in the checkout since the last commit (added, modified, deleted). */
export async function changedPaths(ws: Workspace): Promise<string[]> {
  const out = await local(
    ws,
    ['status', '--porcelain=v1', '-z', '--untracked-files=all'],
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
