/**
 * Deckhand's periodic work on Agenda 6 (@agendajs/mongo-backend on the store's own connection):
 *
 * - `digests:sweep`, every few seconds: posts due digests (runner.ts decides exactly-once).
 * - `store:purge`, hourly: old deliveries, task transitions, digest runs and followed threads.
 * - `tasks:requeue-expired`: running tasks whose worker stopped renewing go back to the queue.
 * - `sandbox:reap:<host>`: orphaned sandbox containers on this host's Docker engine (one job per
 *   host, because a container's owner pid means something only on its own host).
 * - `github:redeliver[:<hook>]`, every few minutes: asks GitHub again for webhooks we failed
 *   (src/github/redelivery.ts; safe to run twice: a claimed guid is asked for once per cooldown).
 *
 * Why one sweep job rather than one Agenda job per digest: Agenda locks a job with findOneAndUpdate,
 * which FerretDB 1.x runs as read-then-write, so two processes can run the same job; exactly-once has
 * to come from a unique insert anyway (the DigestRun log). Given that, a cheap sweep over all
 * schedules beats 100 separately locked jobs: 100 digests due at once cost two reads (schedules,
 * claims already made) and then one claim insert each, spread over every running process. On
 * FerretDB's SQLite handler every write queues behind the others (~16 ms each), so the design keeps
 * writes per digest to three (claim, posted, window start); `npm run bench -- digests` posts 100
 * digests due at once within about 5.5 s of their due time in one process.
 *
 * On time: each sweep arms a local timer for the next due time (or lease expiry, or retry), at most
 * two sweep intervals out, so every process sweeps on its own and a digest goes out at its second.
 * The Agenda job only starts a sweep and returns: its lock is held for milliseconds, and a process
 * killed while holding it (Agenda prefetches and locks due jobs) blocks nobody for long. All jobs are
 * safe to run twice (purges and the lease sweep are idempotent; claims are unique inserts), which is
 * what makes Agenda's lock good enough here.
 *
 * Shutdown: stop() stops new claims, waits for running jobs and digests (bounded), then stops Agenda.
 * A digest still running when the grace ends keeps its lease; another process takes it over.
 */
import { hostname } from 'node:os';
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import { createExpressMiddleware } from 'agendash';
import type { Router } from 'express';
import { logger as defaultLogger } from '../core/index.js';
import type { Store, TaskRecord } from '../store/index.js';
import { createDigestRunner, type DigestRunner, type DigestRunnerOptions } from './runner.js';

export const JOBS_COLLECTION = 'agendaJobs';

/** Lock lifetime of the extra periodic jobs (PeriodicJob.lockLifetimeMs overrides it). */
const PERIODIC_LOCK_MS = 60_000;

/** A periodic job given by the composition root; it must be safe to run twice at once. */
export interface PeriodicJob {
  name: string;
  everyMs: number;
  /** How long a process holds the job while running it (default 60 s). */
  lockLifetimeMs?: number;
  run(): Promise<void>;
}

export interface SchedulerOptions extends DigestRunnerOptions {
  sweepSeconds?: number;
  purgeMinutes?: number;
  leaseSweepSeconds?: number;
  reapMinutes?: number;
  /** Threads Deckhand took part in are forgotten after this many days (replies there stop reaching it). */
  botThreadRetentionDays?: number;
  /** Deliveries and finished task transitions older than this are purged. */
  deliveryRetentionHours?: number;
  runRetentionDays?: number;
  /** Removes orphaned sandbox containers on this host; absent when Docker is not available. */
  reapContainers?: () => Promise<number>;
  /** Told about tasks the lease sweep failed for good (their last attempt died), so users hear why. */
  onTaskGaveUp?: (task: TaskRecord, message: string) => Promise<void>;
  /** Longest wait for running jobs on stop() (default 30 s). */
  shutdownGraceMs?: number;
  /** Arm a local timer for the exact next due time (default true). */
  exactWake?: boolean;
  /** More periodic jobs (GitHub redelivery), run by one process at a time like the others. */
  jobs?: PeriodicJob[];
}

export interface Scheduler {
  readonly agenda: Agenda;
  readonly runner: DigestRunner;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one digest sweep now, in this process (also what the Agenda job does). */
  sweep(): ReturnType<DigestRunner['sweep']>;
}

/**
 * FerretDB's non-atomic upsert can let two processes starting together both insert the same
 * recurring job. Every process keeps the oldest and removes the rest, so they converge on one.
 */
async function dropDuplicateJobs(store: Store, name: string): Promise<void> {
  const jobs = store.db.collection(JOBS_COLLECTION);
  const copies = await jobs
    .find({ name, type: 'single' }, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .toArray();
  if (copies.length > 1) await jobs.deleteMany({ _id: { $in: copies.slice(1).map((c) => c._id) } });
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store } = options;
  const log = (options.logger ?? defaultLogger()).child({ component: 'scheduler' });
  const sweepSeconds = options.sweepSeconds ?? 5;
  const runner = createDigestRunner({
    ...options,
    logger: options.logger ?? defaultLogger(),
    onPlanned: (at) => armWake(at),
  });
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: store.db, collection: JOBS_COLLECTION }),
    name: runner.id,
    processEvery: Math.min(sweepSeconds, 5) * 1000,
    defaultLockLifetime: 10 * 60_000,
  });
  agenda.on('error', (error) => log.warn({ err: error }, 'Agenda error'));
  agenda.on('fail', (error: unknown, job: unknown) =>
    log.warn({ err: error, job: (job as { attrs?: { name?: string } }).attrs?.name }, 'scheduled job failed'),
  );

  let wakeTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  function sweep() {
    return runner.sweep();
  }

  /** Starts a sweep without waiting for it: the Agenda job returns at once and frees its lock. */
  function kick(): void {
    sweep().catch((error: unknown) => {
      log.warn({ err: error }, 'digest sweep failed');
      armWake(null);
    });
  }

  /**
   * Arms this process's own timer: at the next due time (or lease expiry, or retry), and at most a
   * few seconds out regardless. Agenda hands the sweep job to one process per tick, and a process
   * killed while holding that job's lock blocks it until the lock expires; the local timer keeps
   * every process sweeping on its own whatever Agenda's lock does.
   */
  function armWake(at: Date | null): void {
    if (options.exactWake === false || stopped) return;
    clearTimeout(wakeTimer);
    const fallback = sweepSeconds * 2000;
    const delay = at ? Math.max(0, at.getTime() - Date.now()) + 5 : fallback;
    wakeTimer = setTimeout(kick, Math.min(delay, fallback));
    wakeTimer.unref();
  }

  // The job only starts this process's sweep and returns, so its Agenda lock is held for
  // milliseconds: a slow post here never keeps other processes from sweeping.
  agenda.define(
    'digests:sweep',
    async () => {
      kick();
    },
    { lockLifetime: 10_000 },
  );
  agenda.define('store:purge', async () => {
    const now = Date.now();
    const cutoff = new Date(now - (options.deliveryRetentionHours ?? 72) * 3_600_000);
    const [deliveries, transitions, digestRuns, botThreads] = await Promise.all([
      store.purgeDeliveries(cutoff),
      store.purgeTaskTransitions(cutoff),
      store.purgeDigestRuns(new Date(now - (options.runRetentionDays ?? 30) * 86_400_000)),
      // Threads Deckhand took part in: a reply there continues the conversation for this long.
      store.purgeBotThreads(new Date(now - (options.botThreadRetentionDays ?? 30) * 86_400_000)),
    ]);
    log.info({ deliveries, transitions, digestRuns, botThreads }, 'purged old records');
  });
  agenda.define('tasks:requeue-expired', async () => {
    const { requeued, failed, failedTasks } = await store.requeueExpiredLeases();
    if (requeued || failed) log.info({ requeued, failed }, 'expired task leases swept');
    for (const task of failedTasks) {
      await options
        // Not lastError's text (it names the worker's host and pid): a plain reason with the task id.
        .onTaskGaveUp?.(task, `the worker stopped answering while on it (task ${task.id})`)
        .catch((error: unknown) => log.warn({ err: error, task: task.id }, 'could not tell the user'));
    }
  });
  const reapJob = `sandbox:reap:${hostname()}`;
  if (options.reapContainers) {
    const reap = options.reapContainers;
    agenda.define(reapJob, async () => {
      const removed = await reap();
      if (removed) log.info({ removed }, 'orphaned sandbox containers removed');
    });
  }

  // A short lock: these jobs take seconds, and a process killed while holding one (SIGKILL) would
  // otherwise keep every other process from running it for the default 10 minutes.
  for (const job of options.jobs ?? [])
    agenda.define(job.name, () => job.run(), { lockLifetime: job.lockLifetimeMs ?? PERIODIC_LOCK_MS });

  const recurring: [string, number][] = [
    ['digests:sweep', sweepSeconds * 1000],
    ['store:purge', (options.purgeMinutes ?? 60) * 60_000],
    ['tasks:requeue-expired', (options.leaseSweepSeconds ?? 30) * 1000],
    ...(options.reapContainers
      ? ([[reapJob, (options.reapMinutes ?? 5) * 60_000]] as [string, number][])
      : []),
    ...(options.jobs ?? []).map((job): [string, number] => [job.name, job.everyMs]),
  ];

  return {
    agenda,
    runner,
    sweep,
    async start() {
      await agenda.start();
      for (const [name, everyMs] of recurring) {
        await agenda.every(everyMs, name, undefined, { skipImmediate: name !== 'digests:sweep' });
        await dropDuplicateJobs(store, name);
      }
      log.info({ jobs: recurring.map(([name]) => name), sweepSeconds }, 'scheduler started');
      kick();
    },
    async stop() {
      stopped = true;
      clearTimeout(wakeTimer);
      const grace = options.shutdownGraceMs ?? 30_000;
      const [finished, result] = await Promise.all([
        runner.stop(grace),
        agenda.drain({ timeout: grace, closeConnection: false }),
      ]);
      if (!finished) log.warn('scheduler stopped with digests still posting; their leases will expire');
      if (result.timedOut) log.warn({ running: result.running }, 'scheduler stopped with jobs still running');
      log.info('scheduler stopped');
    },
  };
}

/** The agendash dashboard for this scheduler's jobs; mount it behind admin authentication. */
export function agendashRouter(scheduler: Pick<Scheduler, 'agenda'>): Router {
  return createExpressMiddleware(scheduler.agenda);
}

/**
 * agendash over the store's jobs for any process, web replicas included: an Agenda that is never
 * started only reads and edits the jobs collection, so showing the dashboard runs no job here.
 */
export function jobsDashboardRouter(store: Pick<Store, 'db'>): Router {
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: store.db, collection: JOBS_COLLECTION }),
    name: 'agendash',
  });
  return createExpressMiddleware(agenda);
}
