/**
 * The worker: claims tasks from the store's queue, runs up to `concurrency` at once, renews each
 * lease while the task works, and on stop() finishes (or, after the grace period, releases) what it
 * holds. A crashed worker's tasks come back through the lease sweeper (requeueExpiredLeases).
 *
 * Why our own queue and not Agenda for chat tasks: Agenda polls (processEvery, 5 s by default) and
 * locks jobs with findOneAndUpdate, which FerretDB 1.x does not execute atomically (see
 * src/store/models/task-transition.ts). Chat replies need sub-second pickup and exactly-once claims on
 * every supported server, so this is the one queue; Agenda keeps the schedules (src/scheduler).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TaskContext } from '../core/index.js';
import {
  logger as defaultLogger,
  isDeckhandError,
  type Logger,
  redactText,
  taskFailureMessage,
  withLogContext,
} from '../core/index.js';
import type { Store, TaskRecord } from '../store/index.js';
import type { Metrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';

/** Resolves with a result to record, or throws (DeckhandError.retryable decides a retry). */
export type TaskHandler = (task: TaskRecord, ctx: TaskContext) => Promise<unknown>;
/** Told when a task ends as failed for good, so the user hears why. */
export type FailureNotifier = (task: TaskRecord, message: string) => Promise<void>;

export interface WorkerOptions {
  store: Store;
  handler: TaskHandler;
  onGiveUp?: FailureNotifier;
  pipeline?: Pipeline;
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  /** How often a running task is checked for a `cancel` (default 2 s). */
  cancelPollMs?: number;
  sweepMs?: number;
  kinds?: string[];
  id?: string;
  logger?: Logger;
  /** Task durations by outcome and the number running (src/bots/metrics.ts). */
  metrics?: Pick<Metrics, 'taskSeconds' | 'tasksActive'>;
}

/** What stop() did with the tasks it held: ended within the grace, or given back to the queue. */
export interface StopSummary {
  /** Ended (succeeded, failed or retried) within the grace. */
  finished: number;
  /** Given back to the queue for another process. */
  released: number;
  /** Neither: the store refused or stayed away; the lease sweep requeues them when the lease expires. */
  unreleased: number;
}

export function createWorker(options: WorkerOptions) {
  const store = options.store;
  const concurrency = options.concurrency ?? 4;
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const sweepMs = options.sweepMs ?? Math.max(1000, Math.floor(leaseMs / 2));
  const id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = (options.logger ?? defaultLogger()).child({ worker: id });
  const active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  /**
   * Per running task: stops its lease renewals and its cancel watch, and waits for a renewal in flight
   * (before its end is written, or before a release on stop).
   */
  const renewalStoppers = new Map<string, () => Promise<void>>();
  let unsubscribe: (() => void) | undefined;

  async function execute(task: TaskRecord, controller: AbortController): Promise<void> {
    // Every log line written while this task runs carries its id (see withLogContext).
    return withLogContext({ taskId: task.id }, () => executeTimed(task, controller));
  }

  async function executeTimed(task: TaskRecord, controller: AbortController): Promise<void> {
    const stopTimer = options.metrics?.taskSeconds.startTimer({ kind: task.kind });
    options.metrics?.tasksActive.inc();
    let outcome = 'aborted';
    try {
      outcome = await executeTask(task, controller);
    } finally {
      stopTimer?.({ outcome });
      options.metrics?.tasksActive.dec();
    }
  }

  /** Runs one attempt; resolves with its outcome for the metrics. */
  async function executeTask(task: TaskRecord, controller: AbortController): Promise<string> {
    // One renewal at a time, and none in flight once the attempt ends: on FerretDB an update is a
    // read-then-write of the whole document, so a renewal that read the task before completeTask
    // wrote it put 'running' back over 'succeeded' (npm run test:faults: tasks stuck running).
    let renewing: Promise<void> | undefined;
    const renew = setInterval(
      () => {
        if (renewing) return;
        renewing = (async () => {
          try {
            if (!(await store.renewLease(task.id, id, leaseMs))) {
              log.warn({ task: task.id }, 'lost the lease (cancelled or taken over); stopping the task');
              controller.abort(new Error('lease lost'));
            }
          } catch (error) {
            log.warn({ err: error, task: task.id }, 'lease renewal failed; will retry');
          } finally {
            renewing = undefined;
          }
        })();
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    // `cancel` marks the task in the store, possibly from another process; lease renewals would notice
    // only every leaseMs/3 (20 s by default), so running tasks are looked up by id every few seconds.
    const watch = setInterval(() => {
      store
        .getTask(task.id)
        .then((current) => {
          if (current?.status === 'cancelled') controller.abort(new Error('cancelled'));
        })
        .catch(() => undefined);
    }, options.cancelPollMs ?? 2000);
    // Also what a release on stop() calls: a handler that ignores the abort must not keep these
    // timers (and with them the process) alive after its task went back to the queue.
    const stopRenewing = async () => {
      clearInterval(renew);
      clearInterval(watch);
      await renewing;
    };
    renewalStoppers.set(task.id, stopRenewing);
    try {
      let result: unknown;
      try {
        result = await options.handler(task, { signal: controller.signal, workerId: id });
      } catch (error) {
        return await recordFailure(error);
      } finally {
        clearInterval(watch);
      }
      if (controller.signal.aborted) return 'aborted';
      await stopRenewing();
      return await recordResult(result);
    } finally {
      await stopRenewing();
      renewalStoppers.delete(task.id);
    }

    /**
     * The work is done (its reply posted): a store that is briefly away must not turn that into a
     * failed attempt, which would run the task, and post the reply, a second time. The record is
     * retried for half a lease; after that the lease sweeper decides.
     */
    async function recordResult(result: unknown): Promise<string> {
      const deadline = Date.now() + Math.max(1000, leaseMs / 2);
      for (let wait = 250; ; wait = Math.min(wait * 2, 4000)) {
        try {
          await store.completeTask(task.id, id, result ?? null);
          return 'succeeded';
        } catch (error) {
          if (!isTransient(error) || Date.now() + wait > deadline) {
            log.error({ err: error, task: task.id }, 'could not record the result');
            return 'unrecorded';
          }
          await sleep(wait);
        }
      }
    }

    async function recordFailure(error: unknown): Promise<string> {
      if (controller.signal.aborted && !running) return 'released'; // released on shutdown below
      const code = (error as { code?: string }).code ?? 'INTERNAL';
      // The stored error is for operators (/admin); the user hears only taskFailureMessage's text.
      const message = storedErrorMessage(error);
      const retryable = (error as { retryable?: boolean }).retryable ?? isTransient(error);
      log.warn({ err: error, task: task.id, attempt: task.attempts, retryable }, 'task attempt failed');
      await stopRenewing();
      try {
        const outcome = await store.failTask(task.id, id, { code, message }, { retryable });
        if (outcome.status === 'failed') await options.onGiveUp?.(task, taskFailureMessage(error, task.id));
        return outcome.status === 'failed' ? 'failed' : 'retried';
      } catch (failError) {
        log.error({ err: failError, task: task.id }, 'could not record the failure');
        return 'unrecorded';
      }
    }
  }

  /** Waits `ms`, or less when a task is enqueued or stop() is called (wake); holds no timer open. */
  function nap(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, ms).unref();
    });
  }

  async function claimLoop(): Promise<void> {
    while (running) {
      if (active.size >= concurrency) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      let task: TaskRecord | null = null;
      try {
        task = await store.claimNextTask(id, leaseMs, options.kinds);
      } catch (error) {
        log.error({ err: error }, 'claiming failed; backing off');
        await nap(Math.min(5000, pollMs * 8));
        continue;
      }
      if (!task) {
        await nap(pollMs);
        continue;
      }
      const claimed = task;
      const controller = new AbortController();
      const done = execute(claimed, controller).finally(() => {
        active.delete(claimed.id);
        wake?.();
      });
      active.set(claimed.id, { controller, done });
    }
  }

  /**
   * Gives one running task back to the queue: 'refused' when the store says it is no longer ours to
   * give (it ended just now, or its lease was taken over), 'failed' when the store stayed away. Its
   * renewals stop first, or one landing after the release would put 'running' back over 'queued'
   * (FerretDB writes the whole document).
   */
  async function release(taskId: string): Promise<'released' | 'refused' | 'failed'> {
    await renewalStoppers.get(taskId)?.();
    // A busy or restarting store must not turn a clean release into a lease expiry, which would count
    // the attempt (and fail a task on its last one).
    for (let attempt = 1; ; attempt++) {
      try {
        await store.releaseTask(taskId, id);
        return 'released';
      } catch (error) {
        if (isDeckhandError(error)) {
          log.info({ task: taskId, reason: error.userMessage }, 'not released: no longer held');
          return 'refused';
        }
        if (attempt >= 5) {
          log.warn({ err: error, task: taskId }, 'release failed');
          return 'failed';
        }
        await sleep(200 * attempt);
      }
    }
  }

  return {
    id,
    get activeCount() {
      return active.size;
    },
    start(): void {
      if (running) return;
      running = true;
      unsubscribe = options.pipeline?.onTask(() => wake?.());
      sweeper = setInterval(() => {
        if (sweeping) return; // a slow store: one sweep at a time
        sweeping = store
          .requeueExpiredLeases()
          .then(async (swept) => {
            if (swept.requeued || swept.failed)
              log.info({ requeued: swept.requeued, failed: swept.failed }, 'swept expired leases');
            // A task that died with its worker on its last attempt still owes the user an answer.
            for (const task of swept.failedTasks) {
              await options
                .onGiveUp?.(task, sweptTaskMessage(task))
                .catch((error: unknown) =>
                  log.warn({ err: error, task: task.id }, 'could not tell the user about a failed task'),
                );
            }
          })
          .catch((error: unknown) => log.warn({ err: error }, 'lease sweep failed'))
          .finally(() => {
            sweeping = undefined;
          });
      }, sweepMs);
      sweeper.unref();
      loop = claimLoop();
    },
    /**
     * Stops claiming at once, waits up to `graceMs` for running tasks, then releases the rest to the
     * queue (another process runs them, the attempt not counted). Says how many of each.
     */
    async stop(graceMs = 10_000): Promise<StopSummary> {
      running = false;
      unsubscribe?.();
      if (sweeper) clearInterval(sweeper);
      wake?.();
      await loop;
      // A sweep cut off by the store closing after stop() could leave a decided end unapplied.
      await sweeping;
      const held = active.size;
      // The grace timer is cleared once the tasks finish, so a quick stop does not hold the process open.
      const ended = await settleWithin(
        [...active.values()].map((a) => a.done),
        graceMs,
      );
      if (ended) return { finished: held, released: 0, unreleased: 0 };
      const leftover = [...active.entries()];
      // Aborted first, all of them, so handlers that honour the signal wind down together. An aborted
      // attempt records nothing (see recordFailure), so each is then released whatever its handler did.
      for (const [, entry] of leftover) entry.controller.abort(new Error('worker shutting down'));
      let released = 0;
      let unreleased = 0;
      for (const [taskId] of leftover) {
        const outcome = await release(taskId);
        if (outcome === 'released') released++;
        else if (outcome === 'failed') unreleased++;
      }
      // Handlers that honour the abort end now; a short wait lets them settle before the store closes.
      await settleWithin(
        leftover.map(([, entry]) => entry.done),
        1000,
      );
      if (unreleased)
        log.warn(
          { unreleased },
          'some running tasks could not be released; their leases will expire and the sweep requeues them',
        );
      return { finished: held - released - unreleased, released, unreleased };
    },
  };
}

/**
 * The store or Redis dropped the connection (restart, failover): the same attempt can succeed once it
 * is back, so the task is retried instead of failed for good (found by `npm run test:faults`).
 */
function isTransient(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  // ClientClosed and TopologyClosed: an operation caught by the store reopening its connection.
  if (
    /^Mongo(Network|NetworkTimeout|ServerSelection|NotConnected|PoolCleared|ClientClosed|TopologyClosed)Error$/.test(
      name,
    )
  )
    return true;
  // FerretDB's SQLite backend answers a write it could not lock in time with SQLITE_BUSY.
  return (
    name === 'MongoServerError' && /SQLITE_BUSY|database is locked/.test(String((error as Error).message))
  );
}

/** What lastError keeps: a typed error's userMessage, else the error's text with secrets redacted. */
function storedErrorMessage(error: unknown): string {
  if (isDeckhandError(error)) return error.userMessage;
  const text = error instanceof Error ? error.message : String(error);
  return redactText(text).slice(0, 500);
}

/**
 * What the user hears about a task whose worker died on its last attempt. The stored lastError names
 * the worker (host:pid), which is ours to know, not theirs.
 */
export function sweptTaskMessage(task: TaskRecord): string {
  return `The worker handling this stopped answering; gave up after ${task.attempts} attempts (task ${task.id}).`;
}

/** True when every promise settled within `ms`; the timer is cleared either way. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type Worker = ReturnType<typeof createWorker>;
