/**
 * The boundary between the host and the sandbox in "@deckhand fix this", end to end: a signed webhook,
 * the real worker, router, Docker sandbox and git, a bare repository (with a submodule) as the
 * remote, GitHub's API as a loopback stand-in. Each script plants what once made the host run, read
 * or store something it should not: a nested repository whose filter command would run as Deckhand's
 * user, a FIFO or links the host would open or walk, more data than the work folder holds. The
 * tracking comment must say why the tree was refused, nothing may be pushed, no marker may appear,
 * and the worker must go on to the next task.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/store/index.js';
import { TEST_LIMITS } from '../runners/helpers.js';
import { type GitHubHarness, REPO, startGitHubHarness } from './harness.js';
import { bareRemote, git } from './support.js';

const WORK_MB = 24;

let harness: GitHubHarness;
let bare: string;
/** Where a command run on the host by git would leave its mark. */
let markers: string;
let nestedRepoB64: string;

/** A repository, tarred and base64'd for a script: its config runs `touch <markers>/marker` as a filter. */
function plantableRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deckhand-nested-'));
  git(['init', '--quiet', '--initial-branch=main', dir]);
  writeFileSync(join(dir, 'file'), 'data\n');
  writeFileSync(join(dir, '.gitattributes'), '* filter=x\n');
  git(['add', '.'], dir);
  git(['-c', 'user.name=M', '-c', 'user.email=m@example.com', 'commit', '--quiet', '-m', 'n'], dir);
  git(['config', 'filter.x.clean', `touch ${markers}/marker; cat`], dir);
  const tgz = execFileSync('tar', ['-cz', '-C', dir, '.']);
  rmSync(dir, { recursive: true, force: true });
  return tgz.toString('base64');
}

/** Adds a submodule (a gitlink at vendor/lib) to main of the bare remote: cloned, it is an empty folder. */
function addSubmodule(): void {
  const seed = mkdtempSync(join(tmpdir(), 'deckhand-seed-'));
  git(['clone', '--quiet', bare, seed]);
  writeFileSync(join(seed, '.gitmodules'), '[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = ./lib\n');
  git(['add', '.gitmodules'], seed);
  const sha = git(['rev-parse', 'HEAD'], seed).trim();
  git(['update-index', '--add', '--cacheinfo', `160000,${sha},vendor/lib`], seed);
  git(['-c', 'user.name=O', '-c', 'user.email=o@example.com', 'commit', '--quiet', '-m', 'submodule'], seed);
  git(['push', '--quiet', bare, 'HEAD:refs/heads/main'], seed);
  rmSync(seed, { recursive: true, force: true });
}

beforeAll(async () => {
  harness = await startGitHubHarness({ runner: { limits: { ...TEST_LIMITS, workspaceMb: WORK_MB } } });
  markers = mkdtempSync(join(tmpdir(), 'deckhand-markers-'));
  bare = bareRemote(harness.remotes, REPO, {
    'README.md': '# Hello\n',
    'package.json': JSON.stringify({ name: 'hello', scripts: { test: 'node -e 0' } }),
  });
  addSubmodule();
  nestedRepoB64 = plantableRepo();
}, 300_000);

afterAll(async () => {
  await harness?.close();
  if (markers) rmSync(markers, { recursive: true, force: true });
});

/** The stand-in for one task: token, repository, permission, and the tracking comment's edits. */
function githubApi(): string[] {
  const { edits } = harness.githubApi();
  harness.permission('Codertocat', 'write');
  harness.repository();
  return edits;
}

/** Mentions the bot on issue `issue` with a bash script, and waits for the task to end. */
async function mention(issue: number, script: string): Promise<{ task: TaskRecord; ms: number }> {
  const payload = harness.issueComment(`@deckhand do it\n\n\`\`\`bash\n${script}\n\`\`\``);
  payload.issue.number = issue;
  payload.issue.title = `Task ${issue}`;
  const began = Date.now();
  const { task: id } = await harness.deliver('issue_comment', payload);
  const task = await harness.finished(id, 90_000);
  return { task, ms: Date.now() - began };
}

const refs = () => git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);

/** Runs `script` for issue `issue` and checks: failed with `reason`, nothing pushed, no marker, no workspace left. */
async function refusedRun(issue: number, script: string, reason: RegExp): Promise<number> {
  const edits = githubApi();
  const before = refs();
  const { task, ms } = await mention(issue, script);
  expect((task.result as { github?: { outcome?: string } }).github?.outcome).toBe('failed');
  const last = edits.at(-1) ?? '';
  expect(last).toContain('**I could not finish:**');
  expect(last).toMatch(reason);
  expect(refs()).toBe(before);
  expect(existsSync(join(markers, 'marker'))).toBe(false);
  expect(readdirSync(harness.workspaces)).toEqual([]);
  return ms;
}

describe('host command execution through git (hole 4)', () => {
  it('refuses a nested repository planted in a submodule folder, and never runs its filter', async () => {
    const script = `mkdir -p vendor/lib\necho '${nestedRepoB64}' | base64 -d | tar -xz -C vendor/lib\ntouch vendor/lib/file\necho more >> README.md`;
    await refusedRun(21, script, /I refused the files.*`vendor\/lib\/\.git` is a nested \.git/);
  }, 120_000);

  it('refuses a bare .git folder with a filter in a new folder', async () => {
    mkdirSync(markers, { recursive: true });
    const script = [
      'mkdir -p tools/.git',
      `printf '[filter "x"]\\n\\tclean = touch ${markers}/marker; cat\\n' > tools/.git/config`,
      "echo '* filter=x' > tools/.gitattributes",
      'echo a > tools/a',
    ].join('\n');
    await refusedRun(22, script, /`tools\/\.git` is a nested \.git/);
  }, 120_000);

  it('refuses files written into the submodule folder', async () => {
    await refusedRun(23, 'echo x > vendor/lib/file', /`vendor\/lib\/file` is inside the submodule folder/);
  }, 120_000);
});

describe('host reads of sandbox-written files (hole 5)', () => {
  it('refuses a FIFO, a link to /dev/zero and a link to / promptly, and the worker goes on', async () => {
    const cases: [number, string, RegExp][] = [
      [31, 'rm package.json && mkfifo package.json', /`package\.json` is a FIFO/],
      [32, 'ln -sf /dev/zero go.mod', /`go\.mod` is a symbolic link pointing outside the work folder/],
      [33, 'ln -s / tests && echo x >> README.md', /`tests` is a symbolic link pointing outside/],
    ];
    for (const [issue, script, reason] of cases) {
      const ms = await refusedRun(issue, script, reason);
      expect(ms).toBeLessThan(60_000);
    }
    // The next task runs as usual.
    const edits = githubApi();
    const { task } = await mention(34, 'true');
    expect((task.result as { github?: unknown }).github).toEqual({ outcome: 'no_changes' });
    expect(edits.at(-1)).toContain('it changed no file');
  }, 300_000);
});

describe('the disk limit (hole 6)', () => {
  it('ends a script that fills the work folder with "disk limit" and pushes nothing', async () => {
    await refusedRun(41, 'head -c 64m /dev/zero > big', /Your script hit the sandbox's disk limit/);
  }, 120_000);

  it('refuses a sparse file larger than the work folder without writing it on the host', async () => {
    await refusedRun(
      42,
      'truncate -s 50G sparse',
      new RegExp(`hit its disk limit: its work folder held more than ${WORK_MB} MB`),
    );
  }, 120_000);
});
