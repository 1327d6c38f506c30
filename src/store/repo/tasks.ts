/**
 * Durable task queue. Every status change of an attempt is decided by inserting a TaskTransition
 * record under a unique index (see models/task-transition.ts for why), then applied to the task
 * document. So two workers never both claim an attempt, and a late worker cannot overwrite the
 * outcome the lease sweeper already decided, on MongoDB, Atlas or FerretDB, with no transactions.
 */
import { Types } from 'mongoose';
import { DeckhandError } from '../../core/errors.js';
import { guard, isDuplicateKeyError } from '../errors.js';
import type { Models, TaskDoc, TaskLink, TaskSource, TaskTransitionDoc } from '../models/index.js';
import { assertTransition, isFinished, type TaskStatus } from '../task-status.js';

export type TaskRecord = TaskDoc & { id: string };

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

interface LeanTask extends TaskDoc {
  _id: Types.ObjectId;
}

/** How many due tasks a claimer looks at per round; losers of a race move on to the next one. */
const CLAIM_CANDIDATES = 16;

function toRecord(doc: LeanTask): TaskRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id) };
}

function objectId(id: string): Types.ObjectId {
  if (!Types.ObjectId.isValid(id)) throw new DeckhandError('NOT_FOUND', `No task with id ${id}.`);
  return new Types.ObjectId(id);
}

/**
 * Concurrent claimers all read the same first candidates; trying them in the same order makes every
 * claimer but one lose each round. Among the tasks that share the top priority, start at a random
 * one. Strict FIFO within one batch of equal priority is not promised.
 */
function spreadClaimers(candidates: LeanTask[]): LeanTask[] {
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

  /** Inserts the decision; false if another actor already decided this phase of this attempt. */
  async function decide(
    task: LeanTask,
    attempt: number,
    phase: 'start' | 'end',
    by: string,
    set: Record<string, unknown>,
  ) {
    try {
      await TaskTransition.create({ taskId: task._id, attempt, phase, by, set });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async function apply(taskId: Types.ObjectId, set: Record<string, unknown>): Promise<void> {
    await Task.updateOne({ _id: taskId }, { $set: set });
  }

  async function load(id: string): Promise<LeanTask> {
    const task = await Task.findById(objectId(id)).lean<LeanTask>();
    if (!task) throw new DeckhandError('NOT_FOUND', `No task with id ${id}.`);
    return task;
  }

  async function reload(task: LeanTask): Promise<TaskRecord> {
    return toRecord(await load(String(task._id)));
  }

  /** The task as a decision just made it: the decision is authoritative, so no read-back is needed. */
  function decided(task: LeanTask, set: Record<string, unknown>): TaskRecord {
    return toRecord({ ...task, ...set } as LeanTask);
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
    const decided = await TaskTransition.findOne({
      taskId: task._id,
      attempt: task.attempts,
      phase: 'end',
    }).lean<TaskTransitionDoc>();
    const already = decided?.set.status;
    throw new DeckhandError(
      typeof already === 'string' && isFinished(already as TaskStatus)
        ? 'ILLEGAL_TRANSITION'
        : 'STORE_CONFLICT',
      `Task ${String(task._id)} cannot move to ${to}: attempt ${task.attempts} was already ended by ${decided?.by ?? 'another worker'}.`,
    );
  }

  const cleared = { leaseOwner: null, leaseExpiresAt: null };

  return {
    async enqueueTask(input: EnqueueTaskInput): Promise<TaskRecord> {
      const doc = await guard('Task', () =>
        Task.create({
          ...(input.id ? { _id: objectId(input.id) } : {}),
          kind: input.kind,
          source: input.source,
          payload: input.payload ?? {},
          priority: input.priority ?? 0,
          maxAttempts: input.maxAttempts ?? options.defaultMaxAttempts,
          runAfter: input.runAfter ?? new Date(),
        }),
      );
      return toRecord(doc.toObject() as LeanTask);
    },

    newTaskId(): string {
      return new Types.ObjectId().toHexString();
    },

    async getTask(id: string): Promise<TaskRecord | null> {
      const doc = await Task.findById(objectId(id)).lean<LeanTask>();
      return doc ? toRecord(doc) : null;
    },

    /** Takes the next due task for `worker`, counting the attempt. Null when none is due. */
    async claimNextTask(worker: string, leaseMs: number, kinds?: string[]): Promise<TaskRecord | null> {
      for (let round = 0; round < 50; round++) {
        const now = new Date();
        const filter: Record<string, unknown> = { status: 'queued', runAfter: { $lte: now } };
        if (kinds?.length) filter.kind = { $in: kinds };
        const candidates = await Task.find(filter)
          .sort({ priority: -1, runAfter: 1, _id: 1 })
          .limit(CLAIM_CANDIDATES)
          .lean<LeanTask[]>();
        if (candidates.length === 0) return null;
        for (const task of spreadClaimers(candidates)) {
          const attempt = task.attempts + 1;
          const set = {
            status: 'running',
            attempts: attempt,
            leaseOwner: worker,
            leaseExpiresAt: new Date(Date.now() + leaseMs),
            startedAt: new Date(),
          };
          if (await decide(task, attempt, 'start', worker, set)) {
            await apply(task._id, set);
            return decided(task, set);
          }
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
      const ended = await TaskTransition.exists({ taskId: task._id, attempt: task.attempts, phase: 'end' });
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
      if (!(await decide(task, task.attempts, 'end', worker, set))) return endRefused(task, 'succeeded');
      await apply(task._id, set);
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
      if (!(await decide(task, task.attempts, 'end', worker, set))) return endRefused(task, 'failed');
      await apply(task._id, set);
      return retry ? { status: 'queued', retryAt } : { status: 'failed' };
    },

    /**
     * Gives a running task back to the queue without counting the attempt against it (a worker
     * shutting down cleanly). The attempt number still advances, so decisions stay unique.
     */
    async releaseTask(id: string, worker: string): Promise<void> {
      const task = await heldBy(id, worker, 'queued');
      const set = { status: 'queued', runAfter: new Date(), maxAttempts: task.maxAttempts + 1, ...cleared };
      if (!(await decide(task, task.attempts, 'end', `release:${worker}`, set)))
        return endRefused(task, 'queued');
      await apply(task._id, set);
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
      const won =
        task.status === 'queued'
          ? await decide(task, task.attempts + 1, 'start', `cancel:${by}`, set)
          : await decide(task, task.attempts, 'end', `cancel:${by}`, set);
      if (!won) return task.status === 'queued' ? reload(task) : endRefused(task, 'cancelled');
      await apply(task._id, set);
      return decided(task, set);
    },

    /**
     * Finds running tasks whose lease expired (their worker died or stalled) and requeues them, or
     * fails them once they have used all their attempts. Also re-applies any decided outcome whose
     * write to the task was lost. Returns counts.
     */
    async requeueExpiredLeases(
      now = new Date(),
    ): Promise<{ requeued: number; failed: number; failedTasks: TaskRecord[] }> {
      const expired = await Task.find({ status: 'running', leaseExpiresAt: { $lt: now } })
        .limit(500)
        .lean<LeanTask[]>();
      let requeued = 0;
      let failed = 0;
      const failedTasks: TaskRecord[] = [];
      for (const task of expired) {
        const exhausted = task.attempts >= task.maxAttempts;
        const who = task.leaseOwner ?? 'a worker';
        const set = exhausted
          ? {
              status: 'failed',
              finishedAt: new Date(),
              lastError: {
                code: 'LEASE_EXPIRED',
                message: `${who} stopped answering; gave up after ${task.attempts} attempts.`,
              },
              ...cleared,
            }
          : {
              status: 'queued',
              runAfter: new Date(),
              lastError: { code: 'LEASE_EXPIRED', message: `${who} stopped answering; retrying.` },
              ...cleared,
            };
        if (await decide(task, task.attempts, 'end', 'lease-sweeper', set)) {
          await apply(task._id, set);
          if (exhausted) {
            failed++;
            failedTasks.push(decided(task, set));
          } else requeued++;
        } else {
          const decided = await TaskTransition.findOne({
            taskId: task._id,
            attempt: task.attempts,
            phase: 'end',
          }).lean<TaskTransitionDoc>();
          if (decided) await apply(task._id, decided.set);
        }
      }
      return { requeued, failed, failedTasks };
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
