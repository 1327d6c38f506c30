import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { dropTestStore, testDatabaseUri } from '../support/store.js';

// The live-task list (taskqueue) is an index the claim and the lease sweep read instead of every
// task. These tests cut the writes that keep it in step with the tasks short, the way a crash
// between two writes would, and check that no task is lost or run twice.
const uri = testDatabaseUri();
let store: Store;
beforeAll(async () => {
  store = await openStore({ uri, retries: 2, retryBaseMs: 0 });
});
afterAll(() => dropTestStore(store));

const source = { platform: 'terminal' as const, channelId: 'local' };
const entryOf = (id: string) => store.models.TaskQueueEntry.findById(id).lean();

describe('task queue repair after a crash between writes', () => {
  it('queues a task whose queue entry was never written once a restarted process sweeps', async () => {
    const task = await store.enqueueTask({ kind: 'repair.unqueued', source });
    await store.models.TaskQueueEntry.deleteOne({ _id: task.id }); // crashed after the task insert
    expect(await store.claimNextTask('w', 60_000, ['repair.unqueued'])).toBeNull();

    const restarted = await openStore({ uri, retries: 2, retryBaseMs: 0, ensureIndexes: false });
    try {
      await restarted.requeueExpiredLeases(); // a process's first sweep re-lists live tasks
    } finally {
      await restarted.close();
    }
    const claimed = await store.claimNextTask('w', 60_000, ['repair.unqueued']);
    expect(claimed).toMatchObject({ id: task.id, attempts: 1, status: 'running' });
    expect(await store.claimNextTask('w2', 60_000, ['repair.unqueued'])).toBeNull();
  });

  it('queues a redelivered task whose queue entry a crash left out, without a second task', async () => {
    const id = store.taskIdForDelivery('slack', 'Ev-repair-1');
    const first = await store.enqueueTasks([{ id, kind: 'repair.redeliver', source }]);
    expect(first[0]).toMatchObject({ id, status: 'queued' });
    await store.models.TaskQueueEntry.deleteOne({ _id: id });

    expect(await store.enqueueTasks([{ id, kind: 'repair.redeliver', source }])).toEqual(['conflict']);
    expect(await store.claimNextTask('w', 60_000, ['repair.redeliver'])).toMatchObject({ id, attempts: 1 });
    expect(await store.countTasks({ kind: 'repair.redeliver' })).toBe(1);
  });

  it('drops a stale queue entry of a finished task instead of running it again', async () => {
    const task = await store.enqueueTask({ kind: 'repair.stale', source });
    await store.claimNextTask('w', 60_000, ['repair.stale']);
    await store.completeTask(task.id, 'w', { ok: true });
    // A redelivery (or a crash) re-listed the finished task as queued.
    await store.models.TaskQueueEntry.create({
      _id: task.id,
      state: 'queued',
      kind: 'repair.stale',
      priority: 0,
      runAfter: new Date(0),
      attempts: 0,
    });

    expect(await store.claimNextTask('w2', 60_000, ['repair.stale'])).toBeNull();
    expect(await entryOf(task.id)).toBeNull();
    expect(await store.getTask(task.id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { ok: true },
    });
  });

  it('corrects a stale entry of a running task so it is neither claimed twice nor left unswept', async () => {
    const task = await store.enqueueTask({ kind: 'repair.running', source });
    await store.claimNextTask('w', 1_000, ['repair.running']);
    // The claim's own entry write was lost: the entry still says queued.
    await store.models.TaskQueueEntry.updateOne(
      { _id: task.id },
      { $set: { state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null } },
    );
    await store.models.Task.updateOne(
      { _id: task.id },
      { $set: { startedAt: new Date(Date.now() - 60_000) } },
    );

    expect(await store.claimNextTask('w2', 60_000, ['repair.running'])).toBeNull();
    expect(await entryOf(task.id)).toMatchObject({ state: 'running', attempts: 1, leaseOwner: 'w' });
    expect(await store.requeueExpiredLeases(new Date(Date.now() + 5_000))).toMatchObject({ requeued: 1 });
    expect(await store.claimNextTask('w2', 60_000, ['repair.running'])).toMatchObject({
      id: task.id,
      attempts: 2,
    });
  });

  it('applies a claim whose claimer crashed before writing it to the task, then requeues it', async () => {
    const task = await store.enqueueTask({ kind: 'repair.unapplied', source, maxAttempts: 3 });
    await store.claimNextTask('dead', 1_000, ['repair.unapplied']);
    // The claim was decided and listed, but its write to the task never happened.
    await store.models.Task.updateOne(
      { _id: task.id },
      { $set: { status: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null, startedAt: null } },
    );
    expect(await store.claimNextTask('w', 60_000, ['repair.unapplied'])).toBeNull();

    const later = new Date(Date.now() + 5_000);
    await store.requeueExpiredLeases(later); // applies the decided claim: running attempt 1, lease long gone
    expect(await store.getTask(task.id)).toMatchObject({
      status: 'running',
      attempts: 1,
      leaseOwner: 'dead',
    });
    expect(await store.requeueExpiredLeases(later)).toMatchObject({ requeued: 1 });
    const again = await store.claimNextTask('w', 60_000, ['repair.unapplied']);
    expect(again).toMatchObject({ id: task.id, attempts: 2, leaseOwner: 'w' });
    await expect(store.completeTask(task.id, 'dead', {})).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
  });

  it('puts a retried task back on the queue when a crash cut its requeue short', async () => {
    const task = await store.enqueueTask({ kind: 'repair.retry', source, maxAttempts: 3 });
    await store.claimNextTask('w', 1_000, ['repair.retry']);
    const entry = await entryOf(task.id);
    expect(await store.failTask(task.id, 'w', { code: 'UPSTREAM_FAILED', message: '502' })).toMatchObject({
      status: 'queued',
    });
    // The failure reached the task, but the entry still shows the old lease.
    await store.models.TaskQueueEntry.replaceOne({ _id: task.id }, entry ?? {});
    expect(await store.claimNextTask('w', 60_000, ['repair.retry'])).toBeNull();

    await store.requeueExpiredLeases(new Date(Date.now() + 5_000));
    expect(await store.claimNextTask('w', 60_000, ['repair.retry'])).toMatchObject({
      id: task.id,
      attempts: 2,
    });
  });

  it('keeps the live-task list to queued and running tasks', async () => {
    const kind = 'repair.size';
    for (let i = 0; i < 5; i++) await store.enqueueTask({ kind, source });
    for (let i = 0; i < 5; i++) {
      const task = await store.claimNextTask('w', 60_000, [kind]);
      if (i < 3) await store.completeTask(task!.id, 'w');
      else if (i === 3) await store.cancelTask(task!.id);
    }
    const listed = await store.models.TaskQueueEntry.find({ kind }).lean();
    expect(listed.map((e) => e.state)).toEqual(['running']);
  });
});
