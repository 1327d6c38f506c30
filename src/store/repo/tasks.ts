/**
 * Durable task queue. Every status change of an attempt is decided by inserting a TaskTransition
 * record under a unique index (see models/task-transition.ts for why), then applied to the task
 * document. So two workers never both claim an attempt, and a late worker cannot overwrite the
 * outcome the lease sweeper already decided, on MongoDB, Atlas or FerretDB, with no transactions.
 * Claims and the lease sweeper read the small live-task list kept by task-index.ts, not every task.
 * Putting tasks on the queue is task-inserts.ts.
 */
import type { Types } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import type { Models, TaskLink, TaskSource } from '../models/index.js';
import { assertTransition, isFinished, type TaskStatus } from '../task-status.js';
import {
  cleared,
  decided,
  objectId,
  type TaskRecord,
  taskDecisions,
  toRecord,
  transitionId,
} from './task-decisions.js';
import { type LeanTask, type QueueEntry, taskIndex } from './task-index.js';
import { taskInserts } from './task-inserts.js';

export type { TaskRecord } from './task-decisions.js';

export interface EnqueueTaskInput {
  /** A pre-allocated id (newTaskId), so a redelivery can recreate exactly this task, idempotently. */
  id?: string;
  kind: string;
  source: TaskSource;
  payload?: unknown;
  priority?: number;
  maxAttempts?: number;
  runAfter?: Date;
}

export interface TaskQueueOptions {
  /** Base delay for retry backoff; attempt n waits base * 2^(n-1), capped at 10 minutes. */
  retryBaseMs: number;
  defaultMaxAttempts: number;
}

export type FailOutcome = { status: 'queued'; retryAt: Date } | { status: 'failed' };

/** How many due tasks a claimer looks at per round; losers of a race move on to the next one. */
const CLAIM_CANDIDATES = 16;
/** How often the sweeper re-checks the queue and lease lists against the tasks (a full task scan). */
const RECONCILE_MS = 5 * 60_000;

/**
 * Concurrent claimers all read the same first candidates; trying them in the same order makes every
 * claimer but one lose each round. Among the tasks that share the top priority, start at a random
 * one. Strict FIFO within one batch of equal priority is not promised.
 */
function spreadClaimers(candidates: QueueEntry[]): QueueEntry[] {
  const top = candidates[0]?.priority ?? 0;
  const same = candidates.filter((t) => t.priority === top);
  const start = Math.floor(Math.random() * same.length);
  return [...same.slice(start), ...same.slice(0, start), ...candidates.slice(same.length)];
}

export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 10 * 60_000);
}

export function taskRepo(models: Models, options: TaskQueueOptions) {
  const { Task, TaskTransition } = models;
  const index = taskIndex(models);
  const { decide, decisionOf, applyEnd, lostClaim, sweep } = taskDecisions(models, index);
  let reconciledAt = 0;

  async function load(id: string): Promise<LeanTask> {
    const task = await Task.findById(objectId(id)).lean<LeanTask>();
    if (!task) throw new DeckhandError('NOT_FOUND', `No task with id ${id}.`);
    return task;
  }

  async function reload(task: LeanTask): Promise<TaskRecord> {
    return toRecord(await load(String(task._id)));
  }

  /** The running attempt held by `worker`, or a typed refusal explaining why not. */
  async function heldBy(id: string, worker: string, to: TaskStatus): Promise<LeanTask> {
    const task = await load(id);
    assertTransition(task.status, to, id);
    if (task.leaseOwner !== worker) {
      throw new DeckhandError(
        'STORE_CONFLICT',
        `Task ${id} is leased by another worker; this result was not recorded.`,
      );
    }
    return task;
  }

  async function endRefused(task: LeanTask, to: TaskStatus): Promise<never> {
    const decided = await decisionOf(task._id, task.attempts, 'end');
    const already = decided?.set.status;
    throw new DeckhandError(
      typeof already === 'string' && isFinished(already as TaskStatus)
        ? 'ILLEGAL_TRANSITION'
        : 'STORE_CONFLICT',
      `Task ${String(task._id)} cannot move to ${to}: attempt ${task.attempts} was already ended by ${decided?.by ?? 'another worker'}.`,
    );
  }

  const inserts = taskInserts(models, options, index);

  return {
    ...inserts,

    async getTask(id: string): Promise<TaskRecord | null> {
      const doc = await Task.findById(objectId(id)).lean<LeanTask>();
      return doc ? toRecord(doc) : null;
    },

    /** Takes the next due task for `worker`, counting the attempt. Null when none is due. */
    async claimNextTask(worker: string, leaseMs: number, kinds?: string[]): Promise<TaskRecord | null> {
      for (let round = 0; round < 50; round++) {
        const now = new Date();
        const candidates = await index.due(now, kinds, CLAIM_CANDIDATES);
        if (candidates.length === 0) return null;
        for (const entry of spreadClaimers(candidates)) {
          // The entry's attempts stand in for the task's: if the entry is behind, this start was
          // decided already and the insert loses, so no read of the task is needed to win.
          const attempt = entry.attempts + 1;
          const set = {
            status: 'running',
            attempts: attempt,
            leaseOwner: worker,
            leaseExpiresAt: new Date(Date.now() + leaseMs),
            startedAt: new Date(),
          };
          if (!(await decide(entry._id, attempt, 'start', worker, set))) {
            await lostClaim(entry);
            continue;
          }
          // Either write may be cut short by a crash: a running task listed as queued is corrected
          // by the next claimer to lose on it, a queued task listed as running by the sweeper.
          const [task] = await Promise.all([
            Task.findOneAndUpdate(
              { _id: entry._id },
              { $set: set },
              { returnDocument: 'after' },
            ).lean<LeanTask>(),
            index.running(entry, attempt, worker, set.leaseExpiresAt),
          ]);
          if (task) return toRecord(task);
          await index.finished(entry._id); // an entry without a task (never expected): drop it
        }
      }
      return null;
    },

    /** Extends the lease; false when the worker no longer holds it (expired and taken over). */
    async renewLease(id: string, worker: string, leaseMs: number): Promise<boolean> {
      const task = await Task.findOne({
        _id: objectId(id),
        status: 'running',
        leaseOwner: worker,
      }).lean<LeanTask>();
      if (!task) return false;
      const ended = await TaskTransition.exists({ _id: transitionId(task._id, task.attempts, 'end') });
      if (ended) return false;
      await Task.updateOne(
        { _id: task._id, status: 'running', leaseOwner: worker, attempts: task.attempts },
        { $set: { leaseExpiresAt: new Date(Date.now() + leaseMs) } },
      );
      return true;
    },

    async completeTask(
      id: string,
      worker: string,
      result?: unknown,
      links: TaskLink[] = [],
    ): Promise<TaskRecord> {
      const task = await heldBy(id, worker, 'succeeded');
      const set = {
        status: 'succeeded',
        result: result ?? null,
        links,
        finishedAt: new Date(),
        lastError: null,
        ...cleared,
      };
      if (!(await decide(task._id, task.attempts, 'end', worker, set))) return endRefused(task, 'succeeded');
      await applyEnd(task, set);
      return decided(task, set);
    },

    /**
     * Records a failed attempt. Retryable failures go back to the queue with exponential backoff
     * until maxAttempts; then (or when not retryable) the task fails with the reason kept.
     */
    async failTask(
      id: string,
      worker: string,
      error: { code: string; message: string },
      opts: { retryable?: boolean } = {},
    ): Promise<FailOutcome> {
      const task = await heldBy(id, worker, 'failed');
      const retryable = opts.retryable ?? true;
      const retry = retryable && task.attempts < task.maxAttempts;
      const now = new Date();
      const retryAt = new Date(now.getTime() + backoffMs(task.attempts, options.retryBaseMs));
      const set = retry
        ? { status: 'queued', runAfter: retryAt, lastError: error, ...cleared }
        : {
            status: 'failed',
            finishedAt: now,
            lastError: retryable
              ? { code: error.code, message: `${error.message} (gave up after ${task.attempts} attempts)` }
              : error,
            ...cleared,
          };
      if (!(await decide(task._id, task.attempts, 'end', worker, set))) return endRefused(task, 'failed');
      await applyEnd(task, set);
      return retry ? { status: 'queued', retryAt } : { status: 'failed' };
    },

    /**
     * Gives a running task back to the queue without counting the attempt against it (a worker
     * shutting down cleanly). The attempt number still advances, so decisions stay unique.
     */
    async releaseTask(id: string, worker: string): Promise<void> {
      const task = await heldBy(id, worker, 'queued');
      const set = { status: 'queued', runAfter: new Date(), maxAttempts: task.maxAttempts + 1, ...cleared };
      if (!(await decide(task._id, task.attempts, 'end', `release:${worker}`, set)))
        return endRefused(task, 'queued');
      await applyEnd(task, set);
    },

    /** Cancels a queued or running task. A running worker finds out when it next renews its lease. */
    async cancelTask(id: string, reason = 'cancelled', by = 'system'): Promise<TaskRecord> {
      const task = await load(id);
      assertTransition(task.status, 'cancelled', id);
      const set = {
        status: 'cancelled',
        finishedAt: new Date(),
        lastError: { code: 'CANCELLED', message: reason },
        ...cleared,
      };
      // A queued task is cancelled by taking its next attempt's start, so no worker can claim it.
      const queued = task.status === 'queued';
      const won = queued
        ? await decide(task._id, task.attempts + 1, 'start', `cancel:${by}`, set)
        : await decide(task._id, task.attempts, 'end', `cancel:${by}`, set);
      if (!won) return queued ? reload(task) : endRefused(task, 'cancelled');
      await applyEnd(task, set);
      return decided(task, set);
    },

    /**
     * Finds running tasks whose lease expired (their worker died or stalled) and requeues them, or
     * fails them once they have used all their attempts. Also re-applies any decided outcome whose
     * write to the task was lost, and (at first and every few minutes) re-lists what a crash left off
     * the queue or the lease list. Returns counts.
     */
    async requeueExpiredLeases(
      now = new Date(),
    ): Promise<{ requeued: number; failed: number; failedTasks: TaskRecord[] }> {
      if (Date.now() - reconciledAt >= RECONCILE_MS) {
        reconciledAt = Date.now();
        await index.reconcile(now);
      }
      let requeued = 0;
      let failed = 0;
      const failedTasks: TaskRecord[] = [];
      let firstError: unknown;
      for (const entry of await index.expired(now, 500)) {
        // One entry's failure (a busy or restarting store) must not leave the rest of the list
        // unswept until the next round: carry on, and report the first error once the list is done.
        const swept = await sweep(entry, now).catch((error: unknown) => {
          firstError ??= error;
          return undefined;
        });
        if (swept?.requeued) requeued++;
        else if (swept) {
          failed++;
          failedTasks.push(swept.task);
        }
      }
      if (firstError !== undefined && requeued + failed === 0) throw firstError;
      return { requeued, failed, failedTasks };
    },

    /** Lists queued and running tasks that a crash left off the live-task list (a full task scan). */
    async reconcileTaskQueue(now = new Date()): Promise<number> {
      reconciledAt = Date.now();
      return index.reconcile(now);
    },

    /** Deletes the decision log of tasks that finished before `olderThan`. */
    async purgeTaskTransitions(olderThan: Date): Promise<number> {
      const finished = await Task.find({
        status: { $in: ['succeeded', 'failed', 'cancelled'] },
        finishedAt: { $lt: olderThan },
      })
        .select({ _id: 1 })
        .limit(5000)
        .lean<{ _id: Types.ObjectId }[]>();
      if (finished.length === 0) return 0;
      const result = await TaskTransition.deleteMany({ taskId: { $in: finished.map((t) => t._id) } });
      return result.deletedCount;
    },

    async countTasks(filter: { status?: TaskStatus; kind?: string } = {}): Promise<number> {
      return Task.countDocuments(filter);
    },

    async listTasks(filter: { status?: TaskStatus; kind?: string } = {}, limit = 50): Promise<TaskRecord[]> {
      const docs = await Task.find(filter).sort({ createdAt: -1 }).limit(limit).lean<LeanTask[]>();
      return docs.map(toRecord);
    },
  };
}
