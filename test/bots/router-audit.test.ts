/**
 * `run` leaves a trace: every code run the command router starts (in the real Docker sandbox) is
 * one audit entry naming who ran which language in which workspace, and whether it exited 0.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventHandler } from '../../src/bots/index.js';
import { MemorySink, type NormalizedEvent } from '../../src/core/index.js';
import type { SandboxRunner } from '../../src/runners/index.js';
import type { Store } from '../../src/store/index.js';
import { ensureSandboxImage, testDocker, testRunner } from '../runners/helpers.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let runner: SandboxRunner;

beforeAll(async () => {
  store = await openTestStore();
  ensureSandboxImage();
  runner = testRunner(testDocker(), { warmPool: 0 });
  await runner.start();
});
afterAll(async () => {
  await runner?.close();
  await dropTestStore(store);
});

function runEvent(userId: string, text: string): NormalizedEvent {
  return {
    platform: 'slack',
    workspaceId: 'T-AUDIT',
    channelId: 'C1',
    threadId: `t-${randomBytes(3).toString('hex')}`,
    userId,
    text,
    mentions: [],
    deliveryKey: `audit-${randomBytes(4).toString('hex')}`,
    eventType: 'app_mention',
    replyTo: {},
    receivedAt: new Date().toISOString(),
  };
}

async function send(e: NormalizedEvent) {
  const sink = new MemorySink();
  const handle = createEventHandler({ store, sinkFor: () => sink, codeRunner: runner });
  const task = await store.enqueueTask({
    kind: 'event',
    source: { platform: 'slack', channelId: 'C1' },
    payload: e,
  });
  await handle(task, { signal: new AbortController().signal, workerId: 'test' });
  return { sink, taskId: task.id };
}

describe('a `run` command', () => {
  it('that exits 0 leaves one audit entry: who, which language, where, succeeded', async () => {
    const { sink, taskId } = await send(runEvent('U-OK', 'run python\n```\nprint(6 * 7)\n```'));
    expect(sink.messages.at(-1)).toMatch(/^`python` exited 0 in \d+ ms\n```\n42\n```$/);

    const entries = await store.listAudit({ actor: 'slack:U-OK', action: 'code.run' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'slack:U-OK',
      action: 'code.run',
      target: 'python',
      outcome: 'succeeded',
      workspace: 'slack:T-AUDIT',
      detail: { taskId, exitCode: 0 },
    });
  });

  it('that exits non-zero leaves one audit entry marked failed', async () => {
    const { sink } = await send(runEvent('U-FAIL', 'run python\n```\nimport sys\nsys.exit(3)\n```'));
    expect(sink.messages.at(-1)).toMatch(/^`python` exited 3 in/);

    const entries = await store.listAudit({ actor: 'slack:U-FAIL', action: 'code.run' });
    expect(entries.map((e) => [e.target, e.outcome])).toEqual([['python', 'failed']]);
    expect(entries[0]?.detail).toMatchObject({ exitCode: 3 });
  });
});
