/**
 * What someone without write access to a repository can make Deckhand do from GitHub, and what a
 * replayed signed body does, against the real HTTP app, store, worker, router and Docker sandbox,
 * with the action gate `deckhand start` wires in. GitHub's REST API is a loopback stand-in.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GitHubHarness, startGitHubHarness } from './harness.js';

let harness: GitHubHarness;
/** Every comment Deckhand posts or edits since `githubApi`. */
let comments: string[] = [];

beforeAll(async () => {
  harness = await startGitHubHarness();
}, 300_000);

afterAll(async () => {
  await harness?.close();
});

/** A fresh stand-in: the App's token, `user`'s role, and every comment Deckhand posts or edits. */
function githubApi(user: string, role: string): void {
  comments = harness.githubApi().sent;
  harness.permission(user, role);
}

/** Delivers a new issue comment by `user` saying `body`, and waits for its task. */
async function answered(user: string, body: string) {
  return harness.finished(
    (await harness.deliver('issue_comment', harness.issueComment(body, { user }))).task,
  );
}

const RUN = '@deckhand run bash\n```bash\necho "ran as $(id -u) on the sandbox"\n```';

describe('run and cancel from a GitHub comment', () => {
  it('refuses `run` from someone with read access, in one short reply, and runs nothing', async () => {
    githubApi('reader', 'read');
    const task = await answered('reader', RUN);
    expect(task.status).toBe('succeeded');
    expect(comments).toEqual([
      expect.stringContaining(
        'Sorry @reader, I only run code for people with write access to Codertocat/Hello-World (yours: read).',
      ),
    ]);
    expect(comments.join('\n')).not.toContain('ran as');
    const audit = await harness.store.listAudit({ actor: 'github:reader' });
    expect(audit[0]).toMatchObject({ action: 'policy.run', outcome: 'denied', workspace: 'github:4242' });
  }, 60_000);

  it("refuses a reader's `cancel` of a writer's running task; the writer may cancel their own", async () => {
    githubApi('writer', 'write');
    harness.permission('reader', 'read');
    const slow = await harness.deliver(
      'issue_comment',
      harness.issueComment('@deckhand run bash\n```bash\nsleep 30\n```', { user: 'writer' }),
    );
    await vi.waitFor(async () => expect((await harness.store.getTask(slow.task))?.status).toBe('running'), {
      timeout: 20_000,
      interval: 100,
    });
    await answered('reader', `@deckhand cancel ${slow.task}`);
    expect(comments.join('\n')).toContain(
      "Sorry @reader, I only cancel other people's tasks for people with admin access to Codertocat/Hello-World (yours: read).",
    );
    expect((await harness.store.getTask(slow.task))?.status).toBe('running');
    harness.permission('writer', 'write');
    await answered('writer', `@deckhand cancel ${slow.task}`);
    expect(comments.join('\n')).toContain(`Cancelled task ${slow.task}.`);
    await vi.waitFor(async () => expect((await harness.store.getTask(slow.task))?.status).toBe('cancelled'), {
      timeout: 20_000,
      interval: 100,
    });
  }, 90_000);

  it('runs code for someone with write access and posts the output', async () => {
    githubApi('writer', 'write');
    await answered('writer', RUN);
    expect(comments.at(-1)).toContain('ran as');
  }, 60_000);
});

describe('a signed body replayed under new delivery ids', () => {
  it('is one task and one reply, whatever X-GitHub-Delivery says', async () => {
    githubApi('writer', 'write');
    const payload = harness.issueComment('@deckhand help', { user: 'writer' });
    const acks = [];
    for (let n = 0; n < 4; n++) acks.push(await harness.deliver('issue_comment', payload));
    expect(new Set(acks.map((a) => a.task)).size).toBe(1);
    expect(acks.map((a) => a.duplicate)).toEqual([false, true, true, true]);
    await harness.finished(acks[0]!.task);
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain('Deckhand commands');
  }, 60_000);
});
