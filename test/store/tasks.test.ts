import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore({ retryBaseMs: 0 });
});
afterAll(() => dropTestStore(store));

const source = { platform: 'terminal' as const, channelId: 'local' };

describe('task queue on the real server', () => {
  it(`runs against ${process.env.DECKHAND_TEST_STORE_SERVER ?? 'the configured server'}`, async () => {
    const { ok, server } = await store.ping();
    expect(ok).toBe(true);
    if (!process.env.MONGODB_URI_IS_EXTERNAL) expect(server).toMatch(/FerretDB|MongoDB/);
  });

  it('stores a batch-inserted task exactly as a task created one at a time', async () => {
    const input = {
      kind: 'shape.check',
      source: { ...source, eventId: 'ev-1' },
      payload: { a: [1], unset: undefined },
    };
    const one = await store.enqueueTask(input);
    const [batch] = await store.enqueueTasks([{ ...input, id: store.newTaskId() }]);
    if (!batch || batch === 'conflict' || 'error' in batch) throw new Error(`not inserted: ${String(batch)}`);
    // As stored: lean reads apply no schema defaults.
    const read = async (id: string) => {
      const doc = await store.models.Task.findById(id).lean<Record<string, unknown>>();
      const { _id, createdAt, updatedAt, runAfter, ...rest } = doc ?? {};
      return { rest, types: [createdAt, updatedAt, runAfter].map((d) => d instanceof Date) };
    };
    expect(await read(batch.id)).toEqual(await read(one.id));
    expect(await store.claimNextTask('shape', 60_000, ['shape.check'])).toMatchObject({ status: 'running' });
  });

  it('refuses a batch task with an invalid kind or delivery key, and writes the rest', async () => {
    const verdicts = await store.enqueueTasks([
      { kind: 'Bad Kind', source },
      { kind: 'fine.kind', source: { ...source, eventId: '' } },
      { kind: 'fine.kind', source: { ...source, eventId: 'ok' } },
    ]);
    expect(verdicts.map((v) => (typeof v === 'object' && 'error' in v ? 'error' : 'ok'))).toEqual([
      'error',
      'error',
      'ok',
    ]);
    expect(verdicts[0]).toMatchObject({ error: { code: 'STORE_VALIDATION' } });
    expect(await store.countTasks({ kind: 'fine.kind' })).toBe(1);
  });

  it('lets 20 concurrent workers claim 200 queued tasks exactly once each', async () => {
    const kind = 'claim.race';
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add((await store.enqueueTask({ kind, source, payload: { i } })).id);

    const claimedBy = new Map<string, string[]>();
    const worker = async (name: string) => {
      for (;;) {
        const task = await store.claimNextTask(name, 60_000, [kind]);
        if (!task) return;
        claimedBy.set(task.id, [...(claimedBy.get(task.id) ?? []), name]);
        await store.completeTask(task.id, name, { by: name });
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => worker(`w${i}`)));

    const twice = [...claimedBy.values()].filter((owners) => owners.length > 1).length;
    const lost = [...ids].filter((id) => !claimedBy.has(id)).length;
    expect({ claimed: claimedBy.size, twice, lost }).toEqual({ claimed: 200, twice: 0, lost: 0 });
    expect(await store.countTasks({ kind, status: 'succeeded' })).toBe(200);
    // ~1,000 store round trips on FerretDB/SQLite: about 20 s on a quiet 2-core machine.
  }, 90_000);

  it('requeues a task whose lease expired and counts the attempt', async () => {
    const task = await store.enqueueTask({ kind: 'lease.expire', source, maxAttempts: 3 });
    const claimed = await store.claimNextTask('dead-worker', 1_000, ['lease.expire']);
    expect(claimed?.id).toBe(task.id);
    expect(claimed?.attempts).toBe(1);

    const swept = await store.requeueExpiredLeases(new Date(Date.now() + 5_000));
    expect(swept).toMatchObject({ requeued: 1, failed: 0 });
    const requeued = await store.getTask(task.id);
    expect(requeued).toMatchObject({ status: 'queued', attempts: 1, leaseOwner: null });
    expect(requeued?.lastError?.code).toBe('LEASE_EXPIRED');

    const again = await store.claimNextTask('live-worker', 60_000, ['lease.expire']);
    expect(again).toMatchObject({ id: task.id, attempts: 2, leaseOwner: 'live-worker' });
    // The dead worker waking up late cannot record a result over the new owner's lease.
    await expect(store.completeTask(task.id, 'dead-worker', {})).rejects.toMatchObject({
      code: 'STORE_CONFLICT',
    });
  });

  it('fails a task past its attempt limit with the reason', async () => {
    const task = await store.enqueueTask({ kind: 'attempts.limit', source, maxAttempts: 2 });
    const first = await store.claimNextTask('w', 60_000, ['attempts.limit']);
    expect(
      await store.failTask(first!.id, 'w', { code: 'UPSTREAM_FAILED', message: 'GitHub answered 502' }),
    ).toMatchObject({
      status: 'queued',
    });
    const second = await store.claimNextTask('w', 60_000, ['attempts.limit']);
    expect(second?.attempts).toBe(2);
    expect(
      await store.failTask(second!.id, 'w', { code: 'UPSTREAM_FAILED', message: 'GitHub answered 502' }),
    ).toEqual({
      status: 'failed',
    });
    const failed = await store.getTask(task.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.lastError?.message).toBe('GitHub answered 502 (gave up after 2 attempts)');
    expect(await store.claimNextTask('w', 60_000, ['attempts.limit'])).toBeNull();
  });

  it('fails an expired lease that has used all its attempts', async () => {
    const task = await store.enqueueTask({ kind: 'lease.exhaust', source, maxAttempts: 1 });
    await store.claimNextTask('w', 1_000, ['lease.exhaust']);
    expect(await store.requeueExpiredLeases(new Date(Date.now() + 5_000))).toMatchObject({
      requeued: 0,
      failed: 1,
      failedTasks: [{ id: task.id, status: 'failed' }],
    });
    const failed = await store.getTask(task.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.lastError?.message).toMatch(/gave up after 1 attempts/);
  });

  it('does not retry a failure marked not retryable', async () => {
    const task = await store.enqueueTask({ kind: 'no.retry', source, maxAttempts: 5 });
    await store.claimNextTask('w', 60_000, ['no.retry']);
    expect(
      await store.failTask(task.id, 'w', { code: 'FORBIDDEN', message: 'not allowed' }, { retryable: false }),
    ).toEqual({
      status: 'failed',
    });
  });

  it('backs off before a retried task can be claimed again', async () => {
    const slow = await openTestStore({ retryBaseMs: 60_000 });
    try {
      const task = await slow.enqueueTask({ kind: 'backoff', source });
      await slow.claimNextTask('w', 60_000, ['backoff']);
      const outcome = await slow.failTask(task.id, 'w', { code: 'UPSTREAM_FAILED', message: 'timeout' });
      expect(outcome.status).toBe('queued');
      expect(await slow.claimNextTask('w', 60_000, ['backoff'])).toBeNull();
    } finally {
      await dropTestStore(slow);
    }
  });

  it('refuses to move a completed task back to running', async () => {
    const task = await store.enqueueTask({ kind: 'illegal.move', source });
    await store.claimNextTask('w', 60_000, ['illegal.move']);
    await store.completeTask(task.id, 'w', { ok: true });

    await expect(store.cancelTask(task.id)).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
      userMessage: `Task ${task.id} cannot move from succeeded to cancelled.`,
    });
    await expect(store.completeTask(task.id, 'w', { again: true })).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    // Through a mongoose document too, not only the repository functions.
    const doc = await store.models.Task.findById(task.id);
    doc!.status = 'running';
    await expect(doc!.save()).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect(await store.getTask(task.id)).toMatchObject({ status: 'succeeded', result: { ok: true } });
  });

  it('claims higher priority tasks first', async () => {
    await store.enqueueTask({ kind: 'prio', source, payload: { n: 'low' }, priority: 0 });
    await store.enqueueTask({ kind: 'prio', source, payload: { n: 'high' }, priority: 10 });
    const first = await store.claimNextTask('w', 60_000, ['prio']);
    expect(first?.payload).toEqual({ n: 'high' });
  });

  it('refuses a task that breaks the schema with a readable error and stores nothing', async () => {
    const before = await store.countTasks();
    await expect(
      store.enqueueTask({ kind: 'Bad Kind!', source: { platform: 'myspace' as 'slack' } }),
    ).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
      userMessage: expect.stringMatching(
        /^Task is invalid: .*source\.platform: `myspace` is not a valid enum value/,
      ),
    });
    await expect(store.enqueueTask({ kind: 'ok', source, priority: 1000 })).rejects.toMatchObject({
      code: 'STORE_VALIDATION',
      userMessage: expect.stringContaining('priority'),
    });
    expect(await store.countTasks()).toBe(before);
  });
});
