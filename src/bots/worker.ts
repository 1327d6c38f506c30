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
  /** Per running task: stops its lease renewals and waits for one in flight (before its end is written). */
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
    const stopRenewing = async () => {
      clearInterval(renew);
      await renewing;
    };
    renewalStoppers.set(task.id, stopRenewing);
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
        await sleep(Math.min(5000, pollMs * 8));
        continue;
      }
      if (!task) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pollMs).unref();
        });
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
    /** Stops claiming, waits up to `graceMs` for running tasks, then releases the rest to the queue. */
    async stop(graceMs = 10_000): Promise<void> {
      running = false;
      unsubscribe?.();
      if (sweeper) clearInterval(sweeper);
      wake?.();
      await loop;
      // A sweep cut off by the store closing after stop() could leave a decided end unapplied.
      await sweeping;
      // The grace timer is cleared once the tasks finish, so a quick stop does not hold the process open.
      let graceTimer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        graceTimer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const finished = await Promise.race([
        Promise.all([...active.values()].map((a) => a.done)).then(() => 'done' as const),
        timeout,
      ]);
      clearTimeout(graceTimer);
      if (finished === 'timeout') {
        for (const [taskId, entry] of active) {
          entry.controller.abort(new Error('worker shutting down'));
          // The handler may not stop at once; its renewals must, or one landing after the release
          // would put 'running' back over 'queued' (FerretDB writes the whole document).
          await renewalStoppers.get(taskId)?.();
          // A busy or restarting store must not turn a clean release into a lease expiry, which
          // would count the attempt (and fail a task on its last one).
          for (let attempt = 1; ; attempt++) {
            try {
              await store.releaseTask(taskId, id);
              break;
            } catch (error) {
              if (attempt >= 5 || isDeckhandError(error)) {
                log.warn({ err: error, task: taskId }, 'release failed');
                break;
              }
              await sleep(200 * attempt);
            }
          }
        }
      }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type Worker = ReturnType<typeof createWorker>;
