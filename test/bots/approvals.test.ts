/**
 * Approvals through the real command router, store and Docker sandbox: with `access.approvals.run:
 * admin`, a member's `run` shows the code and waits for Approve / Deny from an admin other than the
 * asker. Approved: it runs. Denied, or nobody decides in time: nothing runs (no sandbox run, no run
 * record, no code.run audit entry) and the request says so. Another workspace cannot decide it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventHandler } from '../../src/bots/index.js';
import {
  type AccessSettings,
  createAccess,
  DEFAULT_MIN_ROLE,
  type NormalizedEvent,
  type ReplyOptions,
  type ReplySink,
} from '../../src/core/index.js';
import type { SandboxRunner } from '../../src/runners/index.js';
import { accessPortsOf, type Store } from '../../src/store/index.js';
import { ensureSandboxImage, testDocker, testRunner } from '../runners/helpers.js';
import { dropTestStore, openTestStore } from '../support/store.js';

/** What one task posted, buttons included. */
class ButtonSink {
  readonly posts: Array<{ text: string; options?: ReplyOptions }> = [];
  async post(text: string, options?: ReplyOptions) {
    this.posts.push({ text, ...(options ? { options } : {}) });
    return { id: String(this.posts.length - 1) };
  }
  async update(reply: { id: string }, text: string, options?: ReplyOptions) {
    this.posts[Number(reply.id)] = { text, ...(options ? { options } : {}) };
  }
  async status() {}
  last(): string {
    return this.posts.at(-1)?.text ?? '';
  }
}

let store: Store;
let runner: SandboxRunner;
let handle: ReturnType<typeof createEventHandler>;
const sinks = new Map<string, ButtonSink>();

const SETTINGS: AccessSettings = {
  defaultRole: 'member',
  roles: { 'slack:TAPP:boss': 'admin', 'slack:TOTHER:boss2': 'owner' },
  repos: {},
  rules: {
    minRole: { ...DEFAULT_MIN_ROLE },
    codeRun: { channels: [], users: [] },
    approvals: { run: 'admin' },
  },
};

beforeAll(async () => {
  store = await openTestStore();
  ensureSandboxImage();
  runner = testRunner(testDocker(), { warmPool: 0 });
  await runner.start();
}, 120_000);
afterAll(async () => {
  await runner?.close();
  await dropTestStore(store);
});

function router(approvalTimeoutMs: number) {
  return createEventHandler({
    store,
    sinkFor: (event) => sinks.get(event.deliveryKey) as unknown as ReplySink,
    codeRunner: runner,
    access: createAccess(accessPortsOf(store), SETTINGS),
    approvalTimeoutMs,
  });
}

/** Starts one message as its own task; resolves when the task ends. */
function send(workspaceId: string, userId: string, text: string) {
  const sink = new ButtonSink();
  const event: NormalizedEvent = {
    platform: 'slack',
    workspaceId,
    channelId: 'C1',
    threadId: 't1',
    userId,
    text,
    mentions: [],
    deliveryKey: `approve-${randomBytes(4).toString('hex')}`,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
  sinks.set(event.deliveryKey, sink);
  const done = store
    .enqueueTask({
      kind: 'event',
      source: {
        platform: 'slack',
        workspaceId,
        channelId: 'C1',
        threadId: 't1',
        userId,
        eventId: event.deliveryKey,
      },
      payload: event,
    })
    .then((task) => handle(task, { signal: AbortSignal.timeout(60_000), workerId: 'test' }));
  return { sink, done };
}

/** The approval id the waiting task's message names, once it is posted. */
async function approvalIdOf(sink: ButtonSink): Promise<string> {
  await vi.waitFor(() => expect(sink.posts[0]?.text).toContain('Approval needed'), { timeout: 10_000 });
  const id = /Approval id: `([\w-]+)`/.exec(sink.posts[0]!.text)?.[1];
  if (!id) throw new Error('no approval id');
  return id;
}

const CODE = 'run python\n```\nprint("ran", 6 * 7)\n```';
const runsOf = async (user: string) => store.listAudit({ actor: `slack:${user}`, action: 'code.run' });

describe('a run that needs an admin’s approval', () => {
  it('shows the code with Approve and Deny buttons, and runs once an admin approves', async () => {
    handle = router(60_000);
    const asked = send('TAPP', 'mia', CODE);
    const id = await approvalIdOf(asked.sink);
    expect(asked.sink.posts[0]!.text).toContain('print("ran", 6 * 7)');
    expect(asked.sink.posts[0]!.options?.actions).toEqual([
      expect.objectContaining({ label: 'Approve', command: `approve ${id}` }),
      expect.objectContaining({ label: 'Deny', command: `deny ${id}` }),
    ]);
    // The asker cannot approve their own request; another member has too low a role.
    expect(await decide('TAPP', 'mia', `approve ${id}`)).toBe(
      'Someone else has to approve your own request.',
    );
    expect(await decide('TAPP', 'zoe', `approve ${id}`)).toContain('You need the admin role');
    expect(await decide('TOTHER', 'boss2', `approve ${id}`)).toBe(`No request ${id} is waiting here.`);
    expect(await decide('TAPP', 'boss', `approve ${id}`)).toBe(`Approved request ${id}: it goes ahead now.`);
    await asked.done;
    expect(asked.sink.last()).toMatch(/exited 0/);
    expect(asked.sink.last()).toContain('ran 42');
    expect(await runsOf('mia')).toHaveLength(1);
  }, 60_000);

  it('denied: nothing runs, and the request says so', async () => {
    handle = router(60_000);
    const runsBefore = await store.models.Run.countDocuments();
    const asked = send('TAPP', 'max', CODE);
    const id = await approvalIdOf(asked.sink);
    expect(await decide('TAPP', 'boss', `deny ${id}`)).toBe(`Denied request ${id}: nothing runs.`);
    expect(await asked.done).toEqual({ approval: 'denied' });
    expect(asked.sink.posts[0]!.text).toMatch(/^Denied by <@boss>: nothing ran\./);
    expect(asked.sink.posts[0]!.options?.actions ?? []).toEqual([]);
    expect(await runsOf('max')).toEqual([]);
    expect(await store.models.Run.countDocuments()).toBe(runsBefore);
    // A second click finds it decided.
    expect(await decide('TAPP', 'boss', `approve ${id}`)).toBe(`Request ${id} was already denied.`);
  }, 60_000);

  it('nobody decides in time: it expires, nothing runs, a late approve changes nothing', async () => {
    handle = router(1500);
    const runsBefore = await store.models.Run.countDocuments();
    const asked = send('TAPP', 'kim', CODE);
    const id = await approvalIdOf(asked.sink);
    expect(await asked.done).toEqual({ approval: 'expired' });
    expect(asked.sink.posts[0]!.text).toMatch(/^No one approved within 2 seconds: nothing ran\./);
    expect(await decide('TAPP', 'boss', `approve ${id}`)).toBe(
      `Request ${id} was already expired before anyone decided.`,
    );
    expect(await runsOf('kim')).toEqual([]);
    const expiry = await store.listAudit({ actor: 'slack:kim', action: 'approval.expire' });
    expect(expiry).toEqual([expect.objectContaining({ target: `approval:${id}`, outcome: 'expired' })]);
    expect(await store.models.Run.countDocuments()).toBe(runsBefore);
  }, 60_000);
});

/** Sends a decision as another task; its reply. */
async function decide(workspaceId: string, userId: string, text: string): Promise<string> {
  const { sink, done } = send(workspaceId, userId, text);
  await done;
  return sink.last();
}
