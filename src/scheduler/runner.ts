/**
 * The digest runner: finds what is due, decides who runs it, composes and posts it.
 *
 * A sweep (run by the Agenda job `digests:sweep` every few seconds, and by a local timer at the exact
 * next due time) computes for each enabled schedule the latest due time <= now. Only that one counts:
 * a process that was down for three days posts one catch-up digest, not three. Each (schedule, due
 * time) is claimed by inserting attempt 1 into the DigestRun log under a unique index, so however many
 * processes sweep at once, and whatever Agenda's non-atomic lock on FerretDB lets through, one process
 * posts it. The claimer holds a lease it renews while working; a process that dies leaves an expired
 * lease, and the next sweep anywhere claims attempt 2 (again by unique insert) and posts. A failed post
 * becomes a failed attempt with a retry time (exponential backoff); after the last attempt the failure
 * is reported in the digest's channel.
 *
 * Candidates are shuffled and claimed one at a time by `concurrency` workers, so several processes
 * sweeping the same minute share the work instead of one claiming everything up front.
 *
 * Not doubled: a process posts only while at least a third of its lease is left (and bounds the
 * request by that third), and another process takes an attempt over only once its lease has passed,
 * so a slow but live process cannot post alongside its successor (clocks are assumed to agree within
 * a third of the lease: 20 s by default). What no lease can close: a post the platform accepted whose
 * answer was lost (timeout) is retried. Discord dedupes that retry by nonce; Slack has no such key.
 *
 * One claimed attempt (compose, post, record the outcome) is run by run-digest.ts.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Octokit } from '@octokit/rest';
import pLimit, { type LimitFunction } from 'p-limit';
import { logger as defaultLogger, type Logger } from '../core/index.js';
import type { DigestRunRecord, ScheduleRecord, Store } from '../store/index.js';
import type { Summarise } from './compose.js';
import { createDueTimes, shuffle } from './due.js';
import type { DigestPoster } from './post.js';
import { type RunDigestContext, runDigest } from './run-digest.js';

export interface DigestRunnerOptions {
  store: Store;
  poster: DigestPoster;
  /** An Octokit able to read `repo`; without one, digests say GitHub is not configured. */
  octokitFor?: ((repo: string) => Promise<Octokit> | Octokit) | undefined;
  summarise?: Summarise | undefined;
  /** The clock (injected in tests). */
  now?: () => Date;
  id?: string;
  concurrency?: number;
  leaseMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  logger?: Logger;
  /** Told after each sweep's planning when something next becomes due (for an exact wake-up). */
  onPlanned?: (nextWake: Date | null) => void;
  /** Told each attempt's outcome (metrics: deckhand_digests_fired_total). */
  onOutcome?: (outcome: 'posted' | 'skipped' | 'failed') => void;
}

export interface SweepResult {
  /** Attempts this process claimed and ran. */
  ran: number;
  posted: number;
  failed: number;
}

export interface DigestRunner {
  id: string;
  /**
   * One pass: claims and runs what is due; resolves when the runs this pass claimed are done.
   * Passes may overlap (a slow post does not hold up the next due digest); they share the slots.
   */
  sweep: () => Promise<SweepResult>;
  /** The earliest time something becomes due, as of the last sweep (for an exact wake-up). */
  nextWake: () => Date | null;
  /** Stops claiming; resolves when the digests being posted are done, or after `graceMs`. */
  stop(graceMs?: number): Promise<boolean>;
}

interface Candidate {
  schedule: ScheduleRecord;
  dueAt: Date;
  attempt: number;
  manual: boolean;
  /** The attempt this one takes over, marked superseded once the claim is won. */
  previous?: DigestRunRecord;
}

/** Earliest future time among those considered: the next wake-up. */
class WakeTracker {
  wake: Date | null = null;
  constructor(private readonly now: Date) {}
  consider(at: Date | null | undefined): void {
    if (at && at.getTime() > this.now.getTime() && (!this.wake || at.getTime() < this.wake.getTime())) {
      this.wake = at;
    }
  }
}

/** The runner's state between sweeps, with the steps of a sweep as methods. */
class DigestSweeper {
  readonly id: string;
  nextWake: Date | null = null;
  private stopping = false;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly ctx: RunDigestContext;
  private readonly log: Logger;
  private readonly dueTimes = createDueTimes();
  /** One slot per digest this process works on at once, shared by overlapping sweeps. */
  private readonly slots: LimitFunction;
  /** Occurrences this process is working on, so an overlapping sweep does not try them again. */
  private readonly inFlight = new Set<string>();
  /**
   * Attempts this process already tried to claim (won or lost): an overlapping sweep planned before
   * the claim would otherwise spend an insert to learn it lost. Pruned after an hour.
   */
  private readonly tried = new Map<string, number>();
  private readonly active = new Set<Promise<unknown>>();

  constructor(private readonly options: DigestRunnerOptions) {
    const clock = options.now ?? (() => new Date());
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.concurrency = options.concurrency ?? 16;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.log = (options.logger ?? defaultLogger()).child({ scheduler: this.id });
    this.ctx = {
      store: options.store,
      poster: options.poster,
      octokitFor: options.octokitFor,
      summarise: options.summarise,
      clock,
      leaseMs: this.leaseMs,
      maxAttempts: options.maxAttempts ?? 3,
      retryBaseMs: options.retryBaseMs ?? 30_000,
      log: this.log,
    };
    this.slots = pLimit(this.concurrency);
  }

  /** What may need an attempt now: due occurrences and open runs (queued, expired, retry due). */
  private async candidates(now: Date): Promise<Candidate[]> {
    const { store } = this.ctx;
    const schedules = await store.listSchedules();
    const byId = new Map(schedules.map((s) => [s.id, s] as const));
    const found: Candidate[] = [];
    const wake = new WakeTracker(now);

    for (const schedule of schedules) {
      if (!schedule.enabled) continue;
      const { latest, next } = this.dueTimes(schedule, now);
      wake.consider(next);
      if (!latest) continue;
      if (latest.getTime() < new Date(schedule.createdAt).getTime()) continue;
      if (schedule.lastDueAt && latest.getTime() <= new Date(schedule.lastDueAt).getTime()) continue;
      found.push({ schedule, dueAt: latest, attempt: 1, manual: false });
    }
    await this.dropClaimed(found);

    for (const run of await store.openDigestRuns()) {
      const schedule = byId.get(String(run.scheduleId));
      const takeOver =
        run.status === 'queued' ||
        (run.status === 'running' && (!run.leaseExpiresAt || new Date(run.leaseExpiresAt) <= now)) ||
        (run.status === 'failed' && (!run.retryAt || new Date(run.retryAt) <= now));
      if (run.status === 'running') wake.consider(run.leaseExpiresAt ? new Date(run.leaseExpiresAt) : null);
      if (run.status === 'failed') wake.consider(run.retryAt ? new Date(run.retryAt) : null);
      if (!takeOver) continue;
      if (!schedule || (!schedule.enabled && !run.manual)) {
        // Removed or paused since: this occurrence will not be posted.
        await store.updateDigestRun(run.id, { status: 'skipped', error: schedule ? 'paused' : 'removed' });
        continue;
      }
      found.push({
        schedule,
        dueAt: new Date(run.dueAt),
        attempt: run.attempt + 1,
        manual: run.manual,
        previous: run,
      });
    }
    this.nextWake = wake.wake;
    return shuffle(found);
  }

  /**
   * Removes occurrences some process already claimed, with one read, and raises those schedules'
   * hints in one write per due time (off the critical path), so later sweeps skip them for free.
   * Claims themselves write no hint: on FerretDB every write queues behind the others.
   */
  private async dropClaimed(found: Candidate[]): Promise<void> {
    if (found.length === 0) return;
    const earliest = new Date(Math.min(...found.map((c) => c.dueAt.getTime())));
    const claimed = await this.ctx.store.claimedOccurrences(earliest);
    const lagging = new Map<number, string[]>();
    for (let i = found.length - 1; i >= 0; i--) {
      const candidate = found[i]!;
      const due = candidate.dueAt.getTime();
      if (!claimed.has(`${candidate.schedule.id}|${due}`)) continue;
      found.splice(i, 1);
      lagging.set(due, [...(lagging.get(due) ?? []), candidate.schedule.id]);
    }
    for (const [due, ids] of lagging) {
      this.ctx.store
        .noteSchedulesDue(ids, new Date(due))
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not note due times'));
    }
  }

  private async claim(candidate: Candidate, now: Date): Promise<DigestRunRecord | null> {
    const { schedule, dueAt, attempt } = candidate;
    const run = await this.ctx.store.claimDigestRun({
      scheduleId: schedule.id,
      dueAt,
      attempt,
      by: this.id,
      status: 'running',
      manual: candidate.manual,
      leaseExpiresAt: new Date(now.getTime() + this.leaseMs),
    });
    this.tried.set(`${schedule.id}|${dueAt.getTime()}|${attempt}`, now.getTime());
    if (run && candidate.previous) {
      this.ctx.store
        .updateDigestRun(candidate.previous.id, { status: 'superseded' })
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not mark an attempt superseded'));
    }
    return run;
  }

  private triedBefore(candidate: Candidate): boolean {
    if (this.tried.size > 10_000) {
      const cutoff = Date.now() - 3_600_000;
      for (const [key, at] of this.tried) if (at < cutoff) this.tried.delete(key);
    }
    return this.tried.has(`${candidate.schedule.id}|${candidate.dueAt.getTime()}|${candidate.attempt}`);
  }

  /** The audit trail's entry for a posted digest: off the critical path, a failure only logged. */
  private auditPosted(schedule: ScheduleRecord, runId: string): void {
    this.ctx.store
      .recordAudit({
        actor: 'scheduler',
        action: 'digest.post',
        target: `schedule:${schedule.id}`,
        outcome: 'succeeded',
        detail: { name: schedule.name, channelId: schedule.channelId, run: runId },
        workspace: `${schedule.platform}:${schedule.workspaceId}`,
      })
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not record the audit entry'));
  }

  /** Claims and runs one candidate, holding one of the slots; never throws. */
  private async attempt(candidate: Candidate, key: string, result: SweepResult): Promise<void> {
    try {
      if (this.stopping || this.inFlight.has(key) || this.triedBefore(candidate)) return;
      this.inFlight.add(key);
      const run = await this.claim(candidate, this.ctx.clock());
      if (!run) return;
      result.ran++;
      const execution = runDigest(this.ctx, run, candidate.schedule);
      this.active.add(execution);
      const outcome = await execution.finally(() => this.active.delete(execution));
      this.options.onOutcome?.(outcome === 'superseded' ? 'skipped' : outcome);
      if (outcome === 'posted') {
        result.posted++;
        this.auditPosted(candidate.schedule, run.id);
      }
      if (outcome === 'failed') result.failed++;
    } catch (error) {
      this.log.error({ err: error, schedule: candidate.schedule.name }, 'digest run could not be recorded');
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** One worker of a sweep: takes candidates off the shared queue until it is empty. */
  private async work(queue: Candidate[], result: SweepResult): Promise<void> {
    for (let candidate = queue.shift(); candidate && !this.stopping; candidate = queue.shift()) {
      const key = `${candidate.schedule.id}|${candidate.dueAt.getTime()}`;
      if (this.inFlight.has(key) || this.triedBefore(candidate)) continue;
      const next = candidate;
      await this.slots(() => this.attempt(next, key, result));
    }
  }

  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { ran: 0, posted: 0, failed: 0 };
    if (this.stopping) return result;
    const now = this.ctx.clock();
    const queue = await this.candidates(now);
    this.options.onPlanned?.(this.nextWake);
    if (queue.length) {
      const takeovers = queue.filter((c) => c.attempt > 1).length;
      this.log.debug(
        { candidates: queue.length, takeovers, wake: this.nextWake?.toISOString(), now: now.toISOString() },
        'digest sweep',
      );
    }
    const worker = () => this.work(queue, result);
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
    return result;
  }

  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const done = Promise.allSettled([...this.active]).then(() => true);
    const finished = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    return finished;
  }
}

export function createDigestRunner(options: DigestRunnerOptions): DigestRunner {
  const sweeper = new DigestSweeper(options);
  return {
    id: sweeper.id,
    sweep: () => sweeper.sweep(),
    nextWake: (): Date | null => sweeper.nextWake,
    stop: (graceMs = 30_000) => sweeper.stop(graceMs),
  };
}
