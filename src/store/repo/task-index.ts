/**
 * Upkeep of the live-task list (models/task-queue.ts) that claims and the lease sweeper scan instead
 * of the tasks. Each write here mirrors a task write made next to it, so a crash between the two
 * leaves an entry that is behind or missing, never a wrong decision (the TaskTransition unique insert
 * still decides): readers correct stale entries on sight, and `reconcile` (the sweeper, at start and
 * every few minutes) re-adds entries for live tasks that have none.
 */
import type { Types } from 'mongoose';
import type { Models, TaskDoc, TaskQueueEntryDoc } from '../models/index.js';
import { insertRaw } from './insert-raw.js';

export interface LeanTask extends TaskDoc {
  _id: Types.ObjectId;
}

/** An entry of the live-task list, as stored (a type alias of the model's fields, so insertRaw takes it). */
export type QueueEntry = { [K in keyof TaskQueueEntryDoc]: TaskQueueEntryDoc[K] };

export type Queueable = Pick<LeanTask, '_id' | 'kind' | 'priority' | 'runAfter' | 'attempts'>;

function queuedEntry(task: Queueable): QueueEntry {
  return {
    _id: task._id,
    state: 'queued',
    kind: task.kind,
    priority: task.priority,
    runAfter: task.runAfter,
    attempts: task.attempts,
    leaseOwner: null,
    leaseExpiresAt: null,
  };
}

function runningEntry(
  task: Queueable,
  attempt: number,
  leaseOwner: string,
  leaseExpiresAt: Date,
): QueueEntry {
  return { ...queuedEntry(task), state: 'running', attempts: attempt, leaseOwner, leaseExpiresAt };
}

export function taskIndex(models: Models) {
  const { Task, TaskQueueEntry } = models;

  async function finished(taskId: Types.ObjectId, through?: number): Promise<void> {
    await TaskQueueEntry.deleteOne(
      through === undefined ? { _id: taskId } : { _id: taskId, attempts: { $lte: through } },
    );
  }

  async function put(entry: QueueEntry): Promise<void> {
    const { _id, ...rest } = entry;
    await TaskQueueEntry.updateOne({ _id }, { $set: rest }, { upsert: true });
  }

  return {
    /** Entries for tasks just inserted (or found inserted already); an existing entry is kept. Errors by task id. */
    async addQueued(tasks: readonly Queueable[]): Promise<Map<string, unknown>> {
      // Entries are built whole here (queuedEntry), so they skip mongoose's per-document work.
      const verdicts = await insertRaw<QueueEntry>(
        TaskQueueEntry.collection,
        tasks.map(queuedEntry),
        'Task queue entry',
      );
      const errors = new Map<string, unknown>();
      verdicts.forEach((verdict, i) => {
        if (!verdict.inserted && !verdict.duplicate) errors.set(String(tasks[i]?._id), verdict.error);
      });
      return errors;
    },

    /** The task shows queued (again): claimable from its runAfter. */
    async requeued(task: Queueable): Promise<void> {
      await put(queuedEntry(task));
    },

    /** The task shows (or is about to show) running `attempt` under this lease. */
    async running(task: Queueable, attempt: number, leaseOwner: string, leaseExpiresAt: Date): Promise<void> {
      await put(runningEntry(task, attempt, leaseOwner, leaseExpiresAt));
    },

    /** The task finished: drops its entry, unless a later attempt wrote it since (`through` attempts). */
    finished,

    /** Due queued entries, best first (a scan of the live list only). */
    async due(now: Date, kinds: readonly string[] | undefined, limit: number): Promise<QueueEntry[]> {
      const filter: Record<string, unknown> = { state: 'queued', runAfter: { $lte: now } };
      if (kinds?.length) filter.kind = { $in: kinds };
      return TaskQueueEntry.find(filter)
        .sort({ priority: -1, runAfter: 1, _id: 1 })
        .limit(limit)
        .lean<QueueEntry[]>();
    },

    /** Running entries whose lease looked expired at `now` when last seen (a scan of the live list only). */
    async expired(now: Date, limit: number): Promise<QueueEntry[]> {
      return TaskQueueEntry.find({ state: 'running', leaseExpiresAt: { $lt: now } })
        .sort({ leaseExpiresAt: 1 })
        .limit(limit)
        .lean<QueueEntry[]>();
    },

    /**
     * Brings an entry in line with its task as read (the task is the truth); a no-op when it agrees.
     * A task that is queued with the entry's own attempts needs nothing: whatever else is wrong is in
     * the decision log, which the caller handles.
     */
    async correct(entry: QueueEntry, task: LeanTask | null): Promise<void> {
      if (!task || (task.status !== 'queued' && task.status !== 'running'))
        return finished(entry._id, task ? undefined : entry.attempts);
      if (task.status === 'queued') {
        const agrees =
          entry.state === 'queued' &&
          entry.attempts === task.attempts &&
          entry.runAfter.getTime() === task.runAfter.getTime();
        if (!agrees) await put(queuedEntry(task));
        return;
      }
      const agrees =
        entry.state === 'running' &&
        entry.attempts === task.attempts &&
        entry.leaseExpiresAt?.getTime() === task.leaseExpiresAt?.getTime();
      if (!agrees)
        await put(
          runningEntry(task, task.attempts, task.leaseOwner ?? 'unknown', task.leaseExpiresAt ?? new Date(0)),
        );
    },

    /**
     * Re-adds entries for live tasks a crash left unlisted (inserted but never queued, ended but never
     * requeued). A scan of the tasks, so only at start and now and then.
     */
    async reconcile(now = new Date()): Promise<number> {
      const [live, listed] = await Promise.all([
        Task.find({ status: { $in: ['queued', 'running'] } })
          .select({
            kind: 1,
            priority: 1,
            runAfter: 1,
            attempts: 1,
            status: 1,
            leaseOwner: 1,
            leaseExpiresAt: 1,
          })
          .lean<LeanTask[]>(),
        TaskQueueEntry.find({}).select({ _id: 1 }).lean<{ _id: Types.ObjectId }[]>(),
      ]);
      const known = new Set(listed.map((e) => String(e._id)));
      const missing = live
        .filter((task) => !known.has(String(task._id)))
        .map((task) =>
          task.status === 'queued'
            ? queuedEntry(task)
            : runningEntry(task, task.attempts, task.leaseOwner ?? 'unknown', task.leaseExpiresAt ?? now),
        );
      // Inserts, not upserts: an entry written since the scan is newer than what the scan saw.
      if (missing.length) await insertRaw<QueueEntry>(TaskQueueEntry.collection, missing, 'Task queue entry');
      return missing.length;
    },
  };
}

export type TaskIndex = ReturnType<typeof taskIndex>;
