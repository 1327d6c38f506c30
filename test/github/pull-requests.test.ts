/**
 * "@deckhand fix this" end to end: a signed webhook (an @octokit/webhooks-examples payload edited for
 * the mention) on POST /github/webhooks, the real pipeline, worker, router and Docker sandbox, a bare
 * repository as the git remote (file://), and GitHub's REST API as a loopback stand-in (nock's
 * interception breaks dockerode's attach stream), with the bodies Deckhand sends asserted. The tests in the first block build on each other: open, redeliver, follow up.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NO_MODEL_FOR_REVIEW_TEXT,
  type Reviewer,
  STATUS_LINES,
  type WorkspaceAgent,
} from '../../src/github/index.js';
import type { TaskRecord } from '../../src/store/index.js';
import { type GitHubHarness, REPO, startGitHubHarness } from './harness.js';
import { bareRemote, examplePayload, git } from './support.js';

const BRANCH = 'deckhand/1-spelling-error-in-the-readme-file';
const PR_URL = `https://github.com/${REPO}/pull/2`;

let harness: GitHubHarness;
let bare: string;
let reviewer: Reviewer | undefined;
let agent: WorkspaceAgent | undefined;

beforeAll(async () => {
  // Getters: each test decides whether a model is there.
  harness = await startGitHubHarness({ agent: () => agent, reviewer: () => reviewer });
  bare = bareRemote(harness.remotes, REPO, {
    'README.md': '# Hello World\n\nHello teh world. Deckhand will recieve this.\n',
    'package.json': JSON.stringify({ name: 'hello', scripts: { test: 'node test.js' } }),
    'test.js':
      "const t = require('fs').readFileSync('README.md', 'utf8');\nif (t.includes('teh')) { console.error('typo: teh'); process.exit(1); }\nconsole.log('README ok');\n",
  });
}, 300_000);

afterAll(async () => {
  await harness?.close();
});

/** Records the bodies of POST `path` and answers with `answer`. */
function recordPost(path: string, answer: unknown, status = 201): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [];
  harness.api.route('POST', path, status, (req) => {
    bodies.push(req.body);
    return answer;
  });
  return bodies;
}

const OPEN_PULL = {
  number: 2,
  html_url: PR_URL,
  state: 'open',
  title: 'Spelling error in the README file',
  head: { ref: BRANCH, sha: 'headsha123', repo: { full_name: REPO } },
  base: { ref: 'main' },
};

/** An issue_comment example, on issue 1 or on pull request 2, by `user`, saying `body`. */
function comment(body: string, options: { user?: string; pullRequest?: boolean } = {}) {
  const payload = harness.issueComment(body, { user: options.user });
  if (options.pullRequest) {
    payload.issue.number = 2;
    payload.issue.title = 'Spelling error in the README file';
    payload.issue.pull_request = { url: `https://api.github.com/repos/${REPO}/pulls/2` };
  }
  return payload;
}

/** Runs `script` in a running sandbox container as its user; exit code and output (both streams). */
async function inContainer(
  container: Docker.Container,
  script: string,
): Promise<{ exitCode: number | null; output: string }> {
  try {
    const exec = await container.exec({
      Cmd: ['/bin/sh', '-c', script],
      AttachStdout: true,
      AttachStderr: true,
      User: '10001:10001',
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const sink = new PassThrough().on('data', (chunk: Buffer) => chunks.push(chunk));
    harness.docker.modem.demuxStream(stream, sink, sink);
    await new Promise((resolve) => stream.on('end', resolve).on('close', resolve).on('error', resolve));
    let info = await exec.inspect();
    for (let i = 0; i < 20 && info.Running; i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      info = await exec.inspect();
    }
    return { exitCode: info.ExitCode, output: Buffer.concat(chunks).toString('utf8') };
  } catch {
    // Gone already (another file's container, or this run finished).
    return { exitCode: null, output: '' };
  }
}

function resultOf(task: TaskRecord): Record<string, unknown> {
  const result = task.result as { github?: Record<string, unknown> } | null;
  if (!result?.github) throw new Error(`task ${task.status}: ${JSON.stringify(task.lastError ?? result)}`);
  return result.github;
}

const FIX = '@deckhand fix the typo\n\n```bash\nsed -i s/teh/the/ README.md\n```';
const author = ['deckhand[bot]', 'deckhand[bot]@users.noreply.github.com'];

describe('a mention that asks for a change opens one pull request and keeps it up to date', () => {
  let taskId: string;

  it('clones, runs the script in the sandbox, tests, pushes deckhand/1-… as the bot and opens a PR that fixes #1', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    const lookups: string[] = [];
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, (req) => {
      lookups.push(req.query.toString());
      return [];
    });
    const pulls = recordPost(`/repos/${REPO}/pulls`, OPEN_PULL);

    const ack = await harness.deliver('issue_comment', comment(FIX));
    expect(ack.duplicate).toBe(false);
    taskId = ack.task;
    const task = await harness.finished(taskId);
    expect(resultOf(task)).toMatchObject({
      outcome: 'pull_request',
      number: 2,
      branch: BRANCH,
      created: true,
    });

    // The remote got the branch: one commit by the bot on top of main, changing README.md only.
    expect(git(['--git-dir', bare, 'rev-list', '--count', `main..${BRANCH}`]).trim()).toBe('1');
    const [name, email, subject, ...body] = git([
      '--git-dir',
      bare,
      'log',
      '-1',
      '--format=%an%n%ae%n%s%n%b',
      BRANCH,
    ]).split('\n');
    expect([name, email]).toEqual(author);
    expect(subject).toBe('Fix the typo');
    expect(body.join('\n')).toContain(`Deckhand-Task: ${taskId}`);
    expect(git(['--git-dir', bare, 'diff', '--name-only', 'main', BRANCH]).trim()).toBe('README.md');
    expect(git(['--git-dir', bare, 'show', `${BRANCH}:README.md`])).toContain('Hello the world.');

    expect(harness.api.unmatched).toEqual([]);
    expect(harness.api.pending()).toEqual([]);
    expect(lookups).toEqual([`head=${encodeURIComponent(`Codertocat:${BRANCH}`)}&state=open&per_page=10`]);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({
      title: 'Spelling error in the README file',
      head: BRANCH,
      base: 'main',
      draft: false,
    });
    const prBody = String(pulls[0]?.body);
    expect(prBody.startsWith('Fixes #1\n')).toBe(true);
    expect(prBody).toContain('sed -i s/teh/the/ README.md');
    expect(prBody).toContain('**Changed:** `README.md`');
    expect(prBody).toContain("**Tests** (`npm test` in Deckhand's sandbox, no network): ✅ passed (exit 0)");
    expect(prBody).toContain('README ok');
    expect(prBody).toContain(
      'Requested by @Codertocat in https://github.com/Codertocat/Hello-World/issues/1#issuecomment-',
    );

    // One tracking comment, posted at once and edited as the steps finish.
    expect(calls.comments).toHaveLength(1);
    expect(calls.comments[0]?.body.startsWith(STATUS_LINES.working)).toBe(true);
    expect(calls.edits[0]).toContain('- [ ] Clone Codertocat/Hello-World ⏳');
    const last = calls.edits.at(-1) ?? '';
    expect(last.startsWith(STATUS_LINES.done)).toBe(true);
    expect(last).toContain('- [x] Clone Codertocat/Hello-World (`main`)');
    expect(last).toContain('- [x] Run your `bash` script in a sandbox: 1 file changed');
    expect(last).toContain("- [x] Run the repository's tests in the sandbox: `npm test` ✅ passed");
    expect(last).toContain(`Opened pull request #2: ${PR_URL}`);
  }, 120_000);

  it('answers a redelivered webhook with the same task, and a repeated request without a second pull request', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, [OPEN_PULL]);
    const repeated = comment(FIX);
    const again = await harness.deliver('issue_comment', repeated, '1b1d1b1d-0000-4000-8000-00000000f101');
    await harness.finished(again.task);
    // GitHub's "Redeliver" keeps the delivery id: the same task, nothing new.
    const redelivered = await harness.deliver(
      'issue_comment',
      repeated,
      '1b1d1b1d-0000-4000-8000-00000000f101',
    );
    expect(redelivered).toMatchObject({ task: again.task, duplicate: true });
    // The second request found the branch and its open pull request, and opened none.
    expect(resultOf(await harness.finished(again.task))).toMatchObject({
      outcome: 'pull_request',
      number: 2,
      created: false,
    });
    expect(git(['--git-dir', bare, 'rev-list', '--count', `main..${BRANCH}`]).trim()).toBe('1');
    expect(harness.api.unmatched).toEqual([]);
    expect(harness.api.pending()).toEqual([]);
    expect(calls.comments).toHaveLength(1);
    expect(calls.edits.at(-1)).toContain(`pull request #2: ${PR_URL}`);
  }, 120_000);

  it('pushes a follow-up mention on the pull request to the same branch', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'maintain');
    const opened = '<!-- deckhand:what-changed -->\n\nFixed the typo.\n\n<!-- /deckhand:what-changed -->';
    harness.api.route('GET', `/repos/${REPO}/pulls/2`, 200, {
      ...OPEN_PULL,
      body: `Fixes #1\n\n${opened}\n\nRequested by @Codertocat.\n\nA line a maintainer added.`,
    });
    const bodies: string[] = [];
    harness.api.route('PATCH', `/repos/${REPO}/pulls/2`, 200, (req) => {
      bodies.push(String(req.body.body));
      return OPEN_PULL;
    });
    const ack = await harness.deliver(
      'issue_comment',
      comment('@deckhand also fix recieve\n```bash\nsed -i s/recieve/receive/ README.md\n```', {
        pullRequest: true,
      }),
    );
    const task = await harness.finished(ack.task);
    expect(resultOf(task)).toMatchObject({
      outcome: 'pull_request',
      number: 2,
      created: false,
      branch: BRANCH,
    });
    expect(git(['--git-dir', bare, 'rev-list', '--count', `main..${BRANCH}`]).trim()).toBe('2');
    expect(git(['--git-dir', bare, 'log', '-1', '--format=%an%n%s', BRANCH]).trim()).toBe(
      'deckhand[bot]\nAlso fix recieve',
    );
    expect(git(['--git-dir', bare, 'show', `${BRANCH}:README.md`])).toContain(
      'Hello the world. Deckhand will receive this.',
    );
    expect(calls.comments.map((c) => c.issue)).toEqual([2]);
    const last = calls.edits.at(-1) ?? '';
    expect(last).toContain('**Working on pull request #2** for @Codertocat');
    expect(last).toContain(`Commit and push to \`${BRANCH}\` (#2)`);
    expect(last).toMatch(
      /Pushed [0-9a-f]{7} to `deckhand\/1-spelling-error-in-the-readme-file`; pull request #2/,
    );
    expect(last).toContain('✅ passed');
    // The body's "what changed" part now tells this follow-up; the rest is kept as it was.
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatch(/^Fixes #1\n\n<!-- deckhand:what-changed -->/);
    expect(bodies[0]).toContain('sed -i s/recieve/receive/ README.md');
    expect(bodies[0]).not.toContain('Fixed the typo.');
    expect(bodies[0]).toMatch(
      /<!-- \/deckhand:what-changed -->\n\nRequested by @Codertocat\.\n\nA line a maintainer added\.$/,
    );
  }, 120_000);
});

describe('a task retried after its push', () => {
  it('does not apply its change twice or open a second pull request', async () => {
    const calls = harness.githubApi();
    // Both attempts check permission and read the repository; the first fails opening the PR.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      harness.permission('Codertocat', 'write');
      harness.repository();
      harness.api.route('GET', `/repos/${REPO}/pulls`, 200, []);
    }
    harness.api.route('POST', `/repos/${REPO}/pulls`, 502, { message: 'Server Error' });
    const pulls = recordPost(`/repos/${REPO}/pulls`, {
      number: 12,
      html_url: `https://github.com/${REPO}/pull/12`,
      head: { ref: 'deckhand/8-keep-notes' },
      base: { ref: 'main' },
    });
    const payload = comment('@deckhand keep notes\n```bash\necho noted >> NOTES.md\n```');
    (payload.issue as { number: number; title: string }).number = 8;
    (payload.issue as { number: number; title: string }).title = 'Keep notes';
    const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);

    expect(task.attempts).toBe(2);
    expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 12, created: true });
    expect(pulls).toHaveLength(1);
    expect(String(pulls[0]?.body)).toContain('echo noted >> NOTES.md');
    // The script appends: had it run twice, NOTES.md would say so twice.
    expect(git(['--git-dir', bare, 'show', 'deckhand/8-keep-notes:NOTES.md'])).toBe('noted\n');
    expect(git(['--git-dir', bare, 'rev-list', '--count', 'main..deckhand/8-keep-notes']).trim()).toBe('1');
    expect(
      calls.edits.some((e) =>
        e.includes(
          '**I could not finish:** GitHub answered HTTP 502 (Server Error). I will try again shortly.',
        ),
      ),
    ).toBe(true);
    expect(calls.edits.at(-1)).toContain(
      '- [x] Run your `bash` script in a sandbox: already committed by an earlier try',
    );
    expect(calls.edits.at(-1)).toContain('Opened pull request #12');
    // The retry edited the first attempt's tracking comment: one comment on the issue, not two.
    expect(calls.comments).toHaveLength(1);
    expect(harness.api.unmatched).toEqual([]);
    expect(harness.api.pending()).toEqual([]);
  }, 120_000);
});

describe('a pull request GitHub will not open', () => {
  it('says why in plain words and links the pushed branch for opening it by hand', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, [], true);
    harness.api.route('POST', `/repos/${REPO}/pulls`, 422, {
      message: 'Validation Failed',
      errors: [{ resource: 'PullRequest', code: 'custom', message: 'Base branch is protected from bots' }],
    });
    const payload = comment('@deckhand add a note\n```bash\necho hi > NOTE.md\n```');
    (payload.issue as { number: number; title: string }).number = 11;
    (payload.issue as { number: number; title: string }).title = 'Add a note';
    const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);
    expect(resultOf(task)).toMatchObject({ outcome: 'failed' });
    expect(git(['--git-dir', bare, 'show', 'deckhand/11-add-a-note:NOTE.md'])).toBe('hi\n');
    const last = calls.edits.at(-1) ?? '';
    expect(last.startsWith(STATUS_LINES.failed)).toBe(true);
    expect(last).toContain('- [ ] ❌ Commit, push `deckhand/11-add-a-note` and open a pull request');
    expect(last).toContain(
      '**I could not finish:** GitHub answered HTTP 422 (Validation Failed: Base branch is protected from bots).',
    );
    expect(last).toContain(
      `The branch \`deckhand/11-add-a-note\` is pushed: open the pull request by hand at file://${harness.remotes}/${REPO}/compare/main...deckhand/11-add-a-note?expand=1`,
    );
  }, 120_000);
});

describe('an issue labelled for the bot', () => {
  /** The issues.labeled example: issue #10 written by `author`, labelled `deckhand` by Codertocat. */
  function labelled(author: string, body: string) {
    const payload = examplePayload('issues', 'labeled') as {
      label: { name: string };
      issue: { id: number; number: number; title: string; body: string | null; user: { login: string } };
      installation?: { id: number };
    };
    payload.label.name = 'deckhand';
    payload.installation = { id: harness.installation };
    payload.issue.id = harness.nextId();
    payload.issue.number = 10;
    payload.issue.title = 'Add a license file';
    payload.issue.body = body;
    payload.issue.user = { ...payload.issue.user, login: author };
    return payload;
  }
  const SCRIPTED_BODY = "We need one.\n```python\nopen('LICENSE', 'w').write('MIT\\n')\n```";

  it('never runs a script from the issue text: without a model it says so and pushes nothing', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
    const task = await harness.finished(
      (await harness.deliver('issues', labelled('mallory', SCRIPTED_BODY))).task,
    );
    expect(resultOf(task)).toEqual({ outcome: 'no_model' });
    expect(calls.comments.map((c) => c.issue)).toEqual([10]);
    expect(calls.comments[0]?.body).toContain('no model is configured here');
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
  }, 60_000);

  it('gives the model the issue as quoted context, and the labeller as the requester', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, []);
    const pulls = recordPost(`/repos/${REPO}/pulls`, {
      number: 14,
      html_url: `https://github.com/${REPO}/pull/14`,
      head: { ref: 'deckhand/10-add-a-license-file' },
      base: { ref: 'main' },
    });
    harness.conversation(10, { title: 'Add a license file', body: SCRIPTED_BODY, user: 'mallory' });
    const seen: string[] = [];
    agent = async (ctx) => {
      seen.push(ctx.instructions, ctx.conversation ?? '');
      await ctx.runInSandbox({ lang: 'bash', code: "printf 'MIT\\n' > LICENSE" });
      return { summary: 'Added a LICENSE file.' };
    };
    try {
      const task = await harness.finished(
        (await harness.deliver('issues', labelled('mallory', SCRIPTED_BODY))).task,
      );
      expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 14, created: true });
    } finally {
      agent = undefined;
    }
    expect(seen).toHaveLength(2);
    expect(seen[0]).toContain('Resolve issue #10: @Codertocat labelled it for me.');
    // The conversation quotes the issue too: its script is context there as well.
    expect(seen[1]).toContain(
      'The issue, opened by @mallory (open):\n> # Add a license file\n>\n> We need one.',
    );
    expect(seen[0]).toContain('quoted as context');
    expect(seen[0]).toContain("> open('LICENSE', 'w').write('MIT\\n')");
    expect(git(['--git-dir', bare, 'show', 'deckhand/10-add-a-license-file:LICENSE'])).toBe('MIT\n');
    expect(pulls[0]).toMatchObject({ title: 'Add a license file', head: 'deckhand/10-add-a-license-file' });
    expect(calls.edits.at(-1)).toContain('- [x] Make the changes in a sandbox: 1 file changed');
    expect(calls.edits.at(-1)).toContain('for @Codertocat');
    expect(harness.api.unmatched).toEqual([]);
  }, 120_000);
});

describe('who may ask and what happens without a model', () => {
  it('refuses a user without write access politely and opens nothing', async () => {
    const calls = harness.githubApi();
    harness.permission('mallory', 'read');
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
    const ack = await harness.deliver(
      'issue_comment',
      comment(FIX.replace('teh', 'the'), { user: 'mallory' }),
    );
    const task = await harness.finished(ack.task);
    expect(resultOf(task)).toEqual({ outcome: 'refused' });
    expect(calls.comments).toEqual([
      {
        issue: 1,
        body: expect.stringContaining(
          'Sorry @mallory, I only change repositories for people with write access to Codertocat/Hello-World (yours: read).',
        ),
      },
    ]);
    expect(calls.edits).toEqual([]);
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
    const audit = await harness.store.listAudit({ actor: 'github:mallory' });
    expect(audit[0]).toMatchObject({ action: 'policy.repo.write', outcome: 'denied', target: REPO });
  }, 60_000);

  it('does not push to a pull request it did not open', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.api.route('GET', `/repos/${REPO}/pulls/2`, 200, {
      ...OPEN_PULL,
      head: { ref: 'octocat/feature', repo: { full_name: 'octocat/Hello-World' } },
    });
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
    const ack = await harness.deliver('issue_comment', comment(FIX, { pullRequest: true }));
    expect(resultOf(await harness.finished(ack.task))).toMatchObject({ outcome: 'failed' });
    expect(calls.edits.at(-1)).toContain(
      'I only push to pull requests I opened (branches named `deckhand/…` in Codertocat/Hello-World). Mention me on the issue instead, or ask me to `review` this one.',
    );
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
    expect(harness.api.unmatched).toEqual([]);
  }, 60_000);

  it('says how to configure a model when a change comes without a script', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'admin');
    const ack = await harness.deliver('issue_comment', comment('@deckhand please fix this'));
    expect(resultOf(await harness.finished(ack.task))).toEqual({ outcome: 'no_model' });
    expect(calls.comments[0]?.body).toContain('no model is configured here');
    expect(calls.comments[0]?.body).toContain('ANTHROPIC_API_KEY');
    expect(calls.comments[0]?.body).toContain("sed -i 's/teh/the/' README.md");
  }, 60_000);

  it('says how to configure a model when asked to review without one', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    const ack = await harness.deliver('issue_comment', comment('@deckhand review', { pullRequest: true }));
    expect(resultOf(await harness.finished(ack.task))).toEqual({ outcome: 'no_model' });
    expect(calls.comments[0]?.body).toContain(NO_MODEL_FOR_REVIEW_TEXT);
  }, 60_000);

  it('reports a failing script in plain words and pushes nothing', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    const payload = comment('@deckhand try this\n```bash\necho "no such file" >&2\nexit 3\n```');
    (payload.issue as { number: number; title: string }).number = 5;
    (payload.issue as { number: number; title: string }).title = 'Broken build';
    const ack = await harness.deliver('issue_comment', payload);
    const task = await harness.finished(ack.task);
    expect(resultOf(task)).toMatchObject({ outcome: 'failed' });
    const last = calls.edits.at(-1) ?? '';
    expect(last.startsWith(STATUS_LINES.failed)).toBe(true);
    expect(last).toContain('- [ ] ❌ Run your `bash` script in a sandbox');
    expect(last).toContain('**I could not finish:** Your script exited with code 3, so I changed nothing.');
    expect(last).toContain('no such file');
    expect(git(['--git-dir', bare, 'branch', '--list', 'deckhand/5-*']).trim()).toBe('');
  }, 60_000);
});

describe('ports for a model', () => {
  it('lets a WorkspaceAgent change the checkout through the sandbox only', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, []);
    const pulls = recordPost(`/repos/${REPO}/pulls`, {
      number: 7,
      html_url: `https://github.com/${REPO}/pull/7`,
      head: { ref: 'deckhand/6-add-a-changelog' },
      base: { ref: 'main' },
    });
    const seen: string[] = [];
    agent = async (ctx) => {
      seen.push(ctx.instructions, ctx.repo, String(ctx.number));
      const run = await ctx.runInSandbox({
        lang: 'python',
        code: "open('CHANGELOG.md', 'w').write('# Changes\\n')\nprint('written')",
      });
      return { summary: `Added CHANGELOG.md (${run.stdout.trim()}).` };
    };
    try {
      const payload = comment('@deckhand add a changelog');
      (payload.issue as { number: number; title: string }).number = 6;
      (payload.issue as { number: number; title: string }).title = 'Add a changelog';
      const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);
      expect(resultOf(task)).toMatchObject({
        outcome: 'pull_request',
        number: 7,
        branch: 'deckhand/6-add-a-changelog',
      });
    } finally {
      agent = undefined;
    }
    expect(seen).toEqual(['add a changelog', REPO, '6']);
    expect(git(['--git-dir', bare, 'show', 'deckhand/6-add-a-changelog:CHANGELOG.md'])).toBe('# Changes\n');
    expect(String(pulls[0]?.body)).toContain(
      'Fixes #6\n\n<!-- deckhand:what-changed -->\n\nAdded CHANGELOG.md (written).',
    );
    expect(calls.edits.at(-1)).toContain('- [x] Make the changes in a sandbox: 1 file changed');
  }, 120_000);

  it('answers a question that changes no file in the tracking comment, and pushes and opens nothing', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
    agent = async () => ({ summary: 'The build fails because `make` is missing from the CI image.' });
    try {
      const payload = comment('@deckhand why does the build fail?');
      (payload.issue as { number: number; title: string }).number = 14;
      (payload.issue as { number: number; title: string }).title = 'Build fails';
      const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);
      expect(task.status).toBe('succeeded');
    } finally {
      agent = undefined;
    }
    expect(calls.edits.at(-1)).toContain(
      'The build fails because `make` is missing from the CI image.\n\n_No file changed, so there is no pull request._',
    );
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
  }, 120_000);

  it('answers when the agent says the request was a question: lines linked, edits made while looking not kept, no branch', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    const before = git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)']);
    agent = async (ctx) => {
      await ctx.runInSandbox({ lang: 'bash', code: 'echo scratch >> README.md' });
      return {
        intent: 'answer',
        summary: 'The typo is on `README.md:3`; `missing.ts:4` and `../etc/passwd:1` are not files here.',
      };
    };
    try {
      const payload = comment('@deckhand where is the typo?');
      (payload.issue as { number: number; title: string }).number = 15;
      (payload.issue as { number: number; title: string }).title = 'Typo';
      const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);
      expect(task.status).toBe('succeeded');
    } finally {
      agent = undefined;
    }
    const shown = calls.edits.at(-1) ?? '';
    const sha = git(['--git-dir', bare, 'rev-parse', 'main']).trim();
    expect(shown).toContain(`[\`README.md:3\`](file://`);
    expect(shown).toContain(`/${REPO}/blob/${sha}/README.md#L3)`);
    expect(shown).toContain('`missing.ts:4` and `../etc/passwd:1` are not files here.');
    expect(shown).toContain('_Files I changed while looking were not kept');
    expect(shown).toContain('- [x] Answer in a sandbox: answered');
    expect(git(['--git-dir', bare, 'for-each-ref', '--format=%(refname) %(objectname)'])).toBe(before);
  }, 120_000);

  it('posts a review with line comments from the Reviewer, keeping comments off the diff in the body', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.api.route('GET', `/repos/${REPO}/pulls/2`, 200, { ...OPEN_PULL, body: 'Fixes #1' });
    harness.api.route('GET', `/repos/${REPO}/pulls/2/files`, 200, [
      {
        filename: 'README.md',
        status: 'modified',
        patch: '@@ -1,3 +1,3 @@\n # Hello World\n \n-Hello teh world.\n+Hello the world.',
      },
    ]);
    const reviews = recordPost(
      `/repos/${REPO}/pulls/2/reviews`,
      { id: 88, html_url: `${PR_URL}#pullrequestreview-88` },
      200,
    );
    let input: Parameters<Reviewer>[0] | undefined;
    reviewer = async (given) => {
      input = given;
      // As a model would answer: JSON in a fence.
      return '```json\n{"summary":"Looks right.","comments":[{"path":"README.md","line":3,"body":"Good catch."},{"path":"README.md","line":40,"body":"Also check the footer."}]}\n```';
    };
    try {
      const review = comment('@deckhand review the wording', { pullRequest: true });
      const task = await harness.finished((await harness.deliver('issue_comment', review)).task);
      expect(resultOf(task)).toMatchObject({ outcome: 'review', id: 88, comments: 1 });
    } finally {
      reviewer = undefined;
    }
    expect(input).toMatchObject({
      repo: REPO,
      number: 2,
      instructions: 'the wording',
      files: [{ path: 'README.md', status: 'modified' }],
    });
    expect(reviews).toEqual([
      {
        commit_id: 'headsha123',
        event: 'COMMENT',
        body: 'Looks right.\n\n**Further notes** (on lines outside the diff):\n- `README.md:40`: Also check the footer.',
        comments: [{ path: 'README.md', line: 3, side: 'RIGHT', body: 'Good catch.' }],
      },
    ]);
    expect(calls.edits.at(-1)).toContain(`1 line comment, ${PR_URL}#pullrequestreview-88`);
  }, 60_000);

  it('posts nothing when the Reviewer answers with the wrong shape', async () => {
    const calls = harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.api.route('GET', `/repos/${REPO}/pulls/2`, 200, OPEN_PULL);
    harness.api.route('GET', `/repos/${REPO}/pulls/2/files`, 200, []);
    reviewer = async () => ({ comments: [{ path: 'a', line: 0 }] });
    try {
      const task = await harness.finished(
        (await harness.deliver('issue_comment', comment('@deckhand review', { pullRequest: true }))).task,
      );
      expect(resultOf(task)).toMatchObject({ outcome: 'failed' });
    } finally {
      reviewer = undefined;
    }
    expect(calls.edits.at(-1)).toContain('did not have the expected shape (summary:');
  }, 60_000);
});

describe('credentials stay on the host', () => {
  it('gives the sandbox of a pull request task no token in its environment, mounts or files', async () => {
    harness.githubApi();
    harness.permission('Codertocat', 'write');
    harness.repository();
    harness.api.route('GET', `/repos/${REPO}/pulls`, 200, []);
    recordPost(`/repos/${REPO}/pulls`, {
      number: 9,
      html_url: `https://github.com/${REPO}/pull/9`,
      head: { ref: 'deckhand/3-tidy-the-docs' },
      base: { ref: 'main' },
    });

    // Watch the engine: each sandbox started for this task is inspected while it runs. The script
    // waits for a go-ahead file, so the container is inspected, and its work folder read, before it
    // can finish. Other test files run sandboxes on the same engine: ours is the one with .tidy-wait.
    const inspected: Docker.ContainerInspectInfo[] = [];
    const workspaceFiles: string[] = [];
    const events = (await harness.docker.getEvents({
      filters: { type: ['container'], event: ['start'], label: ['deckhand.managed=true'] },
    })) as NodeJS.ReadableStream & { destroy(): void };
    events.on('data', async (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const container = harness.docker.getContainer((JSON.parse(line) as { id: string }).id);
        const ours = await inContainer(
          container,
          'for i in $(seq 200); do [ -e /work/.tidy-wait ] && exit 0; sleep 0.05; done; exit 1',
        );
        if (ours.exitCode !== 0) continue;
        const info = await container.inspect().catch(() => undefined);
        if (!info) continue;
        inspected.push(info);
        const files = await inContainer(container, 'ls -A /work; find /work -type f -exec cat {} +');
        workspaceFiles.push(files.output);
        await inContainer(container, 'touch /work/.deckhand-go');
      }
    });
    try {
      const payload = comment(
        '@deckhand tidy the docs\n```bash\ntouch .tidy-wait\nwhile [ ! -e .deckhand-go ]; do sleep 0.05; done\nrm .deckhand-go .tidy-wait\nenv | sort\necho tidy >> README.md\n```',
      );
      (payload.issue as { number: number; title: string }).number = 3;
      (payload.issue as { number: number; title: string }).title = 'Tidy the docs';
      const task = await harness.finished((await harness.deliver('issue_comment', payload)).task);
      expect(resultOf(task)).toMatchObject({ outcome: 'pull_request', number: 9 });
    } finally {
      events.destroy();
    }
    // The script's run: no host folder at all, only tmpfs; the checkout was copied in.
    expect(inspected).toHaveLength(1);
    for (const info of inspected) {
      // HOME, LANG and PATH from the runner; the rest is the image's toolchain caches (no secrets).
      expect(info.Config.Env.sort()).toEqual([
        'GOCACHE=/tmp/go-cache',
        'GOFLAGS=-modcacherw',
        'GOPATH=/tmp/go',
        'HOME=/work',
        'LANG=C.UTF-8',
        'PATH=/usr/local/bin:/usr/bin:/bin',
        'PIP_DISABLE_PIP_VERSION_CHECK=1',
        'PIP_NO_CACHE_DIR=1',
        'npm_config_cache=/tmp/npm-cache',
        'npm_config_update_notifier=false',
      ]);
      expect(info.HostConfig.Binds ?? []).toEqual([]);
      expect(info.Mounts).toEqual([]);
      expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/work']);
      const everything = JSON.stringify(info);
      expect(everything).not.toContain(harness.token);
      expect(everything).not.toContain('PRIVATE KEY');
      expect(everything).not.toMatch(/extraheader|x-access-token|GITHUB_/i);
    }
    expect(workspaceFiles).toHaveLength(1);
    // The checkout, without any git metadata.
    expect(workspaceFiles[0]).toContain('README.md');
    expect(workspaceFiles[0]).not.toMatch(/^\.git$/m);
    for (const content of workspaceFiles) {
      expect(content).not.toContain(harness.token);
      expect(content).not.toMatch(/extraheader|x-access-token|PRIVATE KEY/i);
    }
    // The remote's copy has no token either, and the workspace is gone.
    expect(git(['--git-dir', bare, 'log', '-p', 'deckhand/3-tidy-the-docs'])).not.toContain(harness.token);
  }, 120_000);
});
