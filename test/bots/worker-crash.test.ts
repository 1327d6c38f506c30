import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const script = resolve(import.meta.dirname, '../support/crash-worker.ts');
let store: Store;
let uri: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  uri = testDatabaseUri('crash');
  store = await openTestStore({ uri });
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(() => dropTestStore(store));

function startWorker(workMs: number, name: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, uri, String(workMs), name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
}

/** How long a worker gets to start or finish a task, polled every 100 ms. */
const WAIT = { timeout: 20_000, interval: 100 };

const source = { platform: 'terminal' as const, channelId: 'crash' };
const audits = (action: string, target: string) => store.models.AuditEntry.countDocuments({ action, target });
const waitForStart = (taskId: string) =>
  vi.waitFor(async () => expect(await audits('work.started', taskId)).toBeGreaterThan(0), WAIT);

describe('a worker killed with SIGKILL in the middle of a task', () => {
  it('is replaced by a new worker that finishes the task exactly once', async () => {
    const task = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 3 });
    const doomed = startWorker(60_000, 'doomed');
    await waitForStart(task.id);
    doomed.kill('SIGKILL');

    startWorker(0, 'survivor');
    const done = await vi.waitFor(async () => {
      const t = await store.getTask(task.id);
      if (!t || t.status === 'queued' || t.status === 'running') throw new Error(`task is ${t?.status}`);
      return t;
    }, WAIT);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: { by: 'survivor' } });
    expect(await audits('work.done', task.id)).toBe(1);
    expect(await audits('work.started', task.id)).toBe(2);
  });

  it('marks the task failed and tells the user when it was the last attempt', async () => {
    const task = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 1 });
    const doomed = startWorker(60_000, 'doomed-2');
    await waitForStart(task.id);
    doomed.kill('SIGKILL');

    startWorker(0, 'survivor-2');
    const told = await vi.waitFor(async () => {
      const entry = await store.models.AuditEntry.findOne({ action: 'user.told', target: task.id }).lean();
      if (!entry) throw new Error('the user has not been told yet');
      return entry;
    }, WAIT);
    expect(String(told.detail)).toMatch(/stopped answering; gave up after 1 attempts/);
    expect(await store.getTask(task.id)).toMatchObject({ status: 'failed' });
    expect(await audits('work.done', task.id)).toBe(0);
  });
});
