import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

async function until<T>(probe: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const source = { platform: 'terminal' as const, channelId: 'crash' };
const audits = (action: string, target: string) => store.models.AuditEntry.countDocuments({ action, target });

describe('a worker killed with SIGKILL in the middle of a task', () => {
  it('is replaced by a new worker that finishes the task exactly once', async () => {
    const task = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 3 });
    const doomed = startWorker(60_000, 'doomed');
    await until(() => audits('work.started', task.id));
    doomed.kill('SIGKILL');

    startWorker(0, 'survivor');
    const done = await until(async () => {
      const t = await store.getTask(task.id);
      return t && t.status !== 'queued' && t.status !== 'running' ? t : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, result: { by: 'survivor' } });
    expect(await audits('work.done', task.id)).toBe(1);
    expect(await audits('work.started', task.id)).toBe(2);
  });

  it('marks the task failed and tells the user when it was the last attempt', async () => {
    const task = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 1 });
    const doomed = startWorker(60_000, 'doomed-2');
    await until(() => audits('work.started', task.id));
    doomed.kill('SIGKILL');

    startWorker(0, 'survivor-2');
    const told = await until(() =>
      store.models.AuditEntry.findOne({ action: 'user.told', target: task.id }).lean(),
    );
    expect(String(told.detail)).toMatch(/stopped answering; gave up after 1 attempts/);
    expect(await store.getTask(task.id)).toMatchObject({ status: 'failed' });
    expect(await audits('work.done', task.id)).toBe(0);
  });
});
