/**
 * Putting tasks on the queue: one at a time (enqueueTask, through mongoose), or many in one round
 * trip for ingest's group commit (insertTasks, then listQueued for their queue entries; enqueueTasks
 * does both). The batch path writes whole documents without mongoose's per-document work.
 */
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import { guard } from '../errors.js';
import type { Models } from '../models/index.js';
import { PLATFORMS } from '../models/platform.js';
import { EVENT_ID_MAX, MAX_ATTEMPTS_MAX, PRIORITY_MAX, TASK_KIND_PATTERN } from '../models/task.js';
import { insertRaw } from './insert-raw.js';
import { objectId, type TaskRecord, toRecord } from './task-decisions.js';
import type { LeanTask, Queueable, TaskIndex } from './task-index.js';
import type { EnqueueTaskInput, TaskQueueOptions } from './tasks.js';

type StoredTask = LeanTask & { __v: number };

export function taskInserts(models: Models, options: TaskQueueOptions, index: TaskIndex) {
  const { Task } = models;

  function newTaskDoc(input: EnqueueTaskInput) {
    return {
      ...(input.id ? { _id: objectId(input.id) } : {}),
      kind: input.kind,
      source: input.source,
      payload: input.payload ?? {},
      priority: input.priority ?? 0,
      maxAttempts: input.maxAttempts ?? options.defaultMaxAttempts,
      runAfter: input.runAfter ?? new Date(),
    };
  }

  /**
   * A new task exactly as the schema stores it (models/task.ts: every default, timestamps, __v), so
   * insertTasks can write it without mongoose's per-document work; the rules a caller's values must
   * meet are checked here instead, with the schema's limits. test/store/tasks.test.ts compares the two.
   */
  function storedTaskDoc(input: EnqueueTaskInput): StoredTask | { error: DeckhandError } {
    const problem = (text: string) => ({
      error: new DeckhandError('STORE_VALIDATION', `Task is invalid: ${text}`),
    });
    const priority = input.priority ?? 0;
    const maxAttempts = input.maxAttempts ?? options.defaultMaxAttempts;
    const eventId = input.source.eventId;
    if (!TASK_KIND_PATTERN.test(input.kind))
      return problem(`kind must be lowercase letters, digits and . _ : - (got ${input.kind})`);
    if (!PLATFORMS.includes(input.source.platform))
      return problem(`source.platform cannot be ${input.source.platform}`);
    if (eventId !== undefined && (eventId.length < 1 || eventId.length > EVENT_ID_MAX))
      return problem(`source.eventId must be 1 to ${EVENT_ID_MAX} characters`);
    if (!Number.isFinite(priority) || Math.abs(priority) > PRIORITY_MAX)
      return problem(`priority must be within ±${PRIORITY_MAX}`);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_MAX)
      return problem(`maxAttempts must be 1 to ${MAX_ATTEMPTS_MAX}`);
    const now = new Date();
    return {
      _id: input.id ? objectId(input.id) : new Types.ObjectId(),
      kind: input.kind,
      source: { ...input.source },
      payload: input.payload ?? {},
      status: 'queued',
      priority,
      attempts: 0,
      maxAttempts,
      runAfter: input.runAfter ?? now,
      leaseOwner: null,
      leaseExpiresAt: null,
      lastError: null,
      links: [],
      startedAt: null,
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
      __v: 0,
    };
  }

  /**
   * The first half of enqueueTasks, in one round trip (group commit on ingest): the tasks only.
   * Each inserted task, and each that existed already (a redelivery), comes with the queue entry
   * it needs (`queue`): until listQueued writes it, no claimer sees the task; the sweeper's
   * reconcile re-lists one that a crash left unlisted. A conflict's entry is (re)written too: it
   * repairs a crash between the two writes, and a claimer drops it if that task is not queued.
   */
  async function insertTasks(
    inputs: readonly EnqueueTaskInput[],
  ): Promise<({ task: TaskRecord | undefined; queue: Queueable } | { error: unknown })[]> {
    const built = inputs.map(storedTaskDoc);
    const valid = built.flatMap((doc) => ('error' in doc ? [] : [doc]));
    const verdicts = await insertRaw<StoredTask>(Task.collection, valid, 'Task');
    let next = 0;
    return built.map((doc) => {
      if ('error' in doc) return { error: doc.error };
      const verdict = verdicts[next++];
      if (!verdict) return { error: new Error('no verdict for a task') };
      if (verdict.inserted) return { task: toRecord(verdict.doc), queue: verdict.doc };
      if (!verdict.duplicate) return { error: verdict.error };
      return { task: undefined, queue: { ...doc, attempts: 0 } };
    });
  }

  return {
    async enqueueTask(input: EnqueueTaskInput): Promise<TaskRecord> {
      const doc = await guard('Task', () => Task.create(newTaskDoc(input)));
      const task = doc.toObject() as LeanTask;
      // The task exists now: a failure to list it is retried once, then left to the sweeper's
      // reconcile rather than reported (the caller would enqueue a second task).
      const listed = await index.addQueued([task]).catch(() => undefined);
      if (!listed || listed.size) await index.addQueued([task]).catch(() => undefined);
      return toRecord(task);
    },

    /**
     * enqueueTask for many at once: insertTasks, then listQueued for what it wrote (or found written).
     * Verdicts are in input order: the record, `conflict` when a task with that id exists already,
     * or the error (of either write).
     */
    async enqueueTasks(
      inputs: readonly EnqueueTaskInput[],
    ): Promise<(TaskRecord | 'conflict' | { error: unknown })[]> {
      const inserted = await insertTasks(inputs);
      const queueErrors = await index.addQueued(inserted.flatMap((v) => ('queue' in v ? [v.queue] : [])));
      return inserted.map((verdict) => {
        if (!('queue' in verdict)) return verdict;
        const queueError = queueErrors.get(String(verdict.queue._id));
        if (queueError) return { error: queueError };
        return verdict.task ?? 'conflict';
      });
    },

    insertTasks,

    /** The second half of enqueueTasks: queue entries for tasks insertTasks wrote. Errors by task id. */
    listQueued(tasks: readonly Queueable[]): Promise<Map<string, unknown>> {
      return index.addQueued(tasks);
    },

    /**
     * The task id for a platform delivery: derived from the key, so every redelivery names the same
     * task and inserting it again is a unique-key conflict, never a second task.
     */
    taskIdForDelivery(platform: string, key: string): string {
      return createHash('sha256').update(`${platform}:${key}`).digest('hex').slice(0, 24);
    },

    newTaskId(): string {
      return new Types.ObjectId().toHexString();
    },
  };
}
