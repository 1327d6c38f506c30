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
import { logger as defaultLogger, type Logger } from '../core/index.js';
import type { Store, TaskRecord } from '../store/index.js';
import type { Pipeline } from './pipeline.js';

export interface TaskContext {
  signal: AbortSignal;
  workerId: string;
}

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
  sweepMs?: number;
  kinds?: string[];
  id?: string;
  logger?: Logger;
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
  let unsubscribe: (() => void) | undefined;

  async function execute(task: TaskRecord, controller: AbortController): Promise<void> {
    const renew = setInterval(
      async () => {
        try {
          if (!(await store.renewLease(task.id, id, leaseMs))) {
            log.warn({ task: task.id }, 'lost the lease (cancelled or taken over); stopping the task');
            controller.abort(new Error('lease lost'));
          }
        } catch (error) {
          log.warn({ err: error, task: task.id }, 'lease renewal failed; will retry');
        }
      },
      Math.max(200, Math.floor(leaseMs / 3)),
    );
    try {
      const result = await options.handler(task, { signal: controller.signal, workerId: id });
      if (controller.signal.aborted) return;
      await store.completeTask(task.id, id, result ?? null);
    } catch (error) {
      if (controller.signal.aborted && !running) return; // released on shutdown below
      const code = (error as { code?: string }).code ?? 'INTERNAL';
      const message =
        (error as { userMessage?: string }).userMessage ?? (error as Error).message ?? String(error);
      const retryable = (error as { retryable?: boolean }).retryable ?? false;
      log.warn({ err: error, task: task.id, attempt: task.attempts, retryable }, 'task attempt failed');
      try {
        const outcome = await store.failTask(task.id, id, { code, message }, { retryable });
        if (outcome.status === 'failed') await options.onGiveUp?.(task, message);
      } catch (failError) {
        log.error({ err: failError, task: task.id }, 'could not record the failure');
      }
    } finally {
      clearInterval(renew);
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
        store
          .requeueExpiredLeases()
          .then(async (swept) => {
            if (swept.requeued || swept.failed)
              log.info({ requeued: swept.requeued, failed: swept.failed }, 'swept expired leases');
            // A task that died with its worker on its last attempt still owes the user an answer.
            for (const task of swept.failedTasks) {
              await options
                .onGiveUp?.(task, task.lastError?.message ?? 'the worker stopped')
                .catch((error: unknown) =>
                  log.warn({ err: error, task: task.id }, 'could not tell the user about a failed task'),
                );
            }
          })
          .catch((error: unknown) => log.warn({ err: error }, 'lease sweep failed'));
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
          await store
            .releaseTask(taskId, id)
            .catch((error: unknown) => log.warn({ err: error, task: taskId }, 'release failed'));
        }
      }
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type Worker = ReturnType<typeof createWorker>;
