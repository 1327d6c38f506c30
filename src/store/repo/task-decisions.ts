/**
 * The decision log's verbs for the task queue (tasks.ts): decide an attempt's start or end by a
 * unique insert, apply it to the task, keep the live-task list in step, and the repairs for a
 * decider that crashed between those writes (a lost claim's check, the lease sweep).
 */
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import { isDuplicateKeyError } from '../errors.js';
import type { Models, TaskDoc, TaskTransitionDoc } from '../models/index.js';
import type { LeanTask, QueueEntry, TaskIndex } from './task-index.js';

export type TaskRecord = TaskDoc & { id: string };

/** A start decided this long ago and still not applied to its task was left by a crashed claimer. */
const UNAPPLIED_START_MS = 30_000;

/**
 * A decision's _id, derived from what it decides: the insert is unique on _id as well as on the
 * compound index, and reading a decision back is a primary-key read (FerretDB pushes down only _id).
 */
export function transitionId(
  taskId: Types.ObjectId,
  attempt: number,
  phase: 'start' | 'end',
): Types.ObjectId {
  const hex = createHash('sha256')
    .update(`${String(taskId)}:${attempt}:${phase}`)
    .digest('hex');
  return new Types.ObjectId(hex.slice(0, 24));
}

export function objectId(id: string): Types.ObjectId {
  if (!Types.ObjectId.isValid(id)) throw new DeckhandError('NOT_FOUND', `No task with id ${id}.`);
  return new Types.ObjectId(id);
}

export const cleared = { leaseOwner: null, leaseExpiresAt: null };

export function toRecord(doc: LeanTask): TaskRecord {
  const { _id, ...rest } = doc;
  return { ...rest, id: String(_id) };
}

/** The task as a decision just made it: the decision is authoritative, so no read-back is needed. */
export function decided(task: LeanTask, set: Record<string, unknown>): TaskRecord {
  return toRecord({ ...task, ...set } as LeanTask);
}

export function taskDecisions(models: Models, index: TaskIndex) {
  const { Task, TaskTransition } = models;
  /** Queued tasks this process lost a claim on, and since when: a start never applied is a crash's leftover. */
  const lostSince = new Map<string, { attempts: number; since: number }>();

  /** Inserts the decision; false if another actor already decided this phase of this attempt. */
  async function decide(
    taskId: Types.ObjectId,
    attempt: number,
    phase: 'start' | 'end',
    by: string,
    set: Record<string, unknown>,
  ) {
    try {
      await TaskTransition.create({
        _id: transitionId(taskId, attempt, phase),
        taskId,
        attempt,
        phase,
        by,
        set,
      });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /**
   * The decision on record, by its derived _id. (A fallback scan for decisions stored before ids
   * were derived ran on every missing decision, a scan of the whole log on FerretDB; none predate it.)
   */
  async function decisionOf(taskId: Types.ObjectId, attempt: number, phase: 'start' | 'end') {
    return TaskTransition.findById(transitionId(taskId, attempt, phase)).lean<TaskTransitionDoc>();
  }

  async function apply(taskId: Types.ObjectId, set: Record<string, unknown>): Promise<void> {
    await Task.updateOne({ _id: taskId }, { $set: set });
  }

  /**
   * apply, then read the status back and apply again if another write put an older one over it:
   * FerretDB runs an update as read-then-write of the whole document, so a lease renewal (or a late
   * claim write) that read the task before this write can land after it and restore 'running'.
   */
  async function applyVerified(taskId: Types.ObjectId, set: Record<string, unknown>): Promise<void> {
    // Not p-retry: nothing failed, a write is verified and repeated at once, on the queue's hot path.
    for (let attempt = 1; ; attempt++) {
      await apply(taskId, set);
      const now = await Task.findById(taskId).select({ status: 1 }).lean<{ status: string }>();
      if (!now || now.status === set.status || attempt >= 3) return;
    }
  }

  /**
   * Applies a decided end to the task and the live-task list. A requeue is listed only once the task
   * shows it: listed earlier, the next attempt could be claimed and then overwritten by this write.
   * A finished task is unlisted only after the task shows its end: unlisted first (or alongside, as
   * before), a lost task write left it running and off the list the sweeper reads, so nobody re-applied
   * the end until the next full reconcile (npm run test:faults: one event never finished).
   */
  async function applyEnd(task: LeanTask, set: Record<string, unknown>): Promise<void> {
    if (set.status !== 'queued') {
      await applyVerified(task._id, set);
      await index.finished(task._id, task.attempts);
      return;
    }
    // Not verified: once listed, the next attempt may legitimately show 'running' (a requeue that an
    // old write did overwrite is claimed again from its entry, which heals it).
    await apply(task._id, set);
    await index.requeued({ ...task, ...set } as LeanTask);
  }

  /** Applies a start (claim or cancel) whose decider crashed before applying it, and lists it. */
  async function applyStart(task: LeanTask, decision: TaskTransitionDoc): Promise<void> {
    const set = decision.set;
    await apply(task._id, set);
    if (set.status === 'running')
      await index.running(
        task,
        decision.attempt,
        String(set.leaseOwner),
        new Date(set.leaseExpiresAt as Date),
      );
    else await index.finished(task._id);
  }

  /**
   * A claim lost on an entry: usually a faster claimer. Corrects the entry from the task; a task
   * that stays queued at the same attempt while every claim on it loses was left by a crashed claimer.
   */
  async function lostClaim(entry: QueueEntry): Promise<void> {
    const task = await Task.findById(entry._id).lean<LeanTask>();
    const key = String(entry._id);
    if (task?.status !== 'queued' || task.attempts !== entry.attempts) {
      lostSince.delete(key);
      // A claim applied a moment ago lists itself; correct only entries left behind for a while.
      const fresh =
        task?.status === 'running' &&
        task.startedAt &&
        Date.now() - new Date(task.startedAt).getTime() < 5_000;
      if (!fresh) await index.correct(entry, task);
      return;
    }
    const seen = lostSince.get(key);
    if (!seen || seen.attempts !== task.attempts) {
      if (lostSince.size > 1000) lostSince.clear();
      lostSince.set(key, { attempts: task.attempts, since: Date.now() });
      return;
    }
    if (Date.now() - seen.since < UNAPPLIED_START_MS) return;
    const decision = await decisionOf(task._id, task.attempts + 1, 'start');
    if (decision && Date.now() - new Date(decision.at).getTime() >= UNAPPLIED_START_MS) {
      await applyStart(task, decision);
      lostSince.delete(key);
    }
  }

  /** One running entry whose lease looked expired: requeue or fail its task, or correct the entry. */
  async function sweep(
    entry: QueueEntry,
    now: Date,
  ): Promise<{ requeued: boolean; task: TaskRecord } | undefined> {
    const task = await Task.findById(entry._id).lean<LeanTask>();
    if (task?.status === 'queued' && task.attempts === entry.attempts - 1) {
      // Claimed (the entry says so) but the claim never reached the task: apply it, sweep it later.
      const decision = await decisionOf(task._id, entry.attempts, 'start');
      if (decision) return void (await applyStart(task, decision));
    }
    const expired =
      task?.status === 'running' &&
      task.attempts === entry.attempts &&
      !(task.leaseExpiresAt && task.leaseExpiresAt >= now);
    if (!task || !expired) return void (await index.correct(entry, task)); // renewed, or moved on
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
    if (await decide(task._id, task.attempts, 'end', 'lease-sweeper', set)) {
      await applyEnd(task, set);
      return { requeued: !exhausted, task: decided(task, set) };
    }
    // Decided by someone else (the worker's own result, a cancel) but maybe never applied: re-apply.
    const decision = await decisionOf(task._id, task.attempts, 'end');
    if (decision) {
      await applyEnd(task, decision.set);
    }
    return undefined;
  }

  return { decide, decisionOf, applyEnd, lostClaim, sweep };
}
