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
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Octokit } from '@octokit/rest';
import { logger as defaultLogger, isDeckhandError, type Logger, userMessageOf } from '../core/index.js';
import type { DigestRunRecord, ScheduleRecord, Store } from '../store/index.js';
import { composeWithSummary, type Summarise } from './compose.js';
import { formatLocal } from './cron.js';
import { createDueTimes, digestActivity, shuffle, windowStart } from './due.js';
import type { DigestPoster } from './post.js';

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

interface Candidate {
  schedule: ScheduleRecord;
  dueAt: Date;
  attempt: number;
  manual: boolean;
  /** The attempt this one takes over, marked superseded once the claim is won. */
  previous?: DigestRunRecord;
}

export function createDigestRunner(options: DigestRunnerOptions) {
  const { store, poster } = options;
  const clock = options.now ?? (() => new Date());
  const id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const concurrency = options.concurrency ?? 16;
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 30_000;
  const log = (options.logger ?? defaultLogger()).child({ scheduler: id });
  const dueTimes = createDueTimes();
  let nextWake: Date | null = null;
  let stopping = false;

  /**
   * Records a post that happened. Never throws: a digest in the channel must not be retried because
   * the write about it failed (the lease then expires with the run still `running`; a takeover
   * finds the post already made only on Discord, so the write is retried here first).
   */
  async function recordPosted(
    run: DigestRunRecord,
    schedule: ScheduleRecord,
    dueAt: Date,
    messageId: string,
  ) {
    const set = { status: 'posted' as const, postedAt: clock(), messageId, leaseExpiresAt: null };
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await Promise.all([
          store.updateDigestRun(run.id, set),
          run.manual ? undefined : store.noteSchedulePosted(schedule.id, dueAt),
        ]);
        return;
      } catch (error) {
        log.error(
          { err: error, schedule: schedule.name, attempt },
          'posted a digest but could not record it',
        );
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async function execute(
    run: DigestRunRecord,
    schedule: ScheduleRecord,
  ): Promise<'posted' | 'failed' | 'superseded'> {
    // Held until `leaseUntil` (what this process last wrote). Another process takes over only once
    // the stored lease has passed, so posting only while a third of the lease is left, with the
    // request bounded by that third, keeps two processes from posting the same digest.
    const margin = Math.floor(leaseMs / 3);
    let leaseUntil = run.leaseExpiresAt
      ? new Date(run.leaseExpiresAt).getTime()
      : clock().getTime() + leaseMs;
    const renew = setInterval(
      () => {
        const until = clock().getTime() + leaseMs;
        store
          .updateDigestRun(run.id, { leaseExpiresAt: new Date(until) })
          .then(() => {
            leaseUntil = Math.max(leaseUntil, until);
          })
          .catch((error: unknown) => log.warn({ err: error, run: run.id }, 'could not renew a digest lease'));
      },
      Math.max(250, margin),
    );
    const target = {
      platform: schedule.platform,
      workspaceId: schedule.workspaceId,
      channelId: schedule.channelId,
    };
    const dueAt = new Date(run.dueAt);
    try {
      const since = windowStart(schedule, dueAt);
      const repos = await digestActivity(options.octokitFor, schedule, since, dueAt);
      const digest = await composeWithSummary(
        {
          name: schedule.name,
          destination: {
            platform: schedule.platform,
            workspaceId: schedule.workspaceId,
            channelId: schedule.channelId,
          },
          timezone: schedule.timezone,
          since,
          until: dueAt,
          repos,
        },
        options.summarise,
        (error) =>
          log.warn({ err: error, schedule: schedule.id }, 'digest summary failed; posting the template'),
      );
      // A process that stalled past its lease must not post what its successor already took over.
      if (clock().getTime() > leaseUntil - margin) {
        log.warn(
          { schedule: schedule.name, attempt: run.attempt },
          'digest lease nearly lost; leaving it to another process',
        );
        return 'superseded';
      }
      if (await store.digestRunSuperseded(run)) return 'superseded';
      const { messageId } = await poster.post(target, digest, `${schedule.id}:${dueAt.toISOString()}`, {
        timeoutMs: margin,
      });
      await recordPosted(run, schedule, dueAt, messageId);
      log.info({ schedule: schedule.name, dueAt, attempt: run.attempt }, 'digest posted');
      return 'posted';
    } catch (error) {
      const retryable = !isDeckhandError(error) || error.retryable;
      const message = userMessageOf(error);
      if (retryable && run.attempt < maxAttempts) {
        const retryAt = new Date(clock().getTime() + retryBaseMs * 2 ** (run.attempt - 1));
        await store.updateDigestRun(run.id, {
          status: 'failed',
          error: message,
          retryAt,
          leaseExpiresAt: null,
        });
        log.warn(
          { err: error, schedule: schedule.name, attempt: run.attempt, retryAt },
          'digest failed; will retry',
        );
      } else {
        await store.updateDigestRun(run.id, { status: 'gave_up', error: message, leaseExpiresAt: null });
        log.error({ err: error, schedule: schedule.name, attempt: run.attempt }, 'digest failed for good');
        const when = formatLocal(dueAt, schedule.timezone);
        await poster
          .notice(
            target,
            `⚠️ I could not post the digest "${schedule.name}" due ${when} (${run.attempt} attempt${run.attempt > 1 ? 's' : ''}): ${message}`,
          )
          .catch((noticeError: unknown) =>
            log.error(
              { err: noticeError, schedule: schedule.name },
              'could not report the failed digest either',
            ),
          );
      }
      return 'failed';
    } finally {
      clearInterval(renew);
    }
  }

  /** What may need an attempt now: due occurrences and open runs (queued, expired, retry due). */
  async function candidates(now: Date): Promise<Candidate[]> {
    const schedules = await store.listSchedules();
    const byId = new Map(schedules.map((s) => [s.id, s] as const));
    const found: Candidate[] = [];
    let wake: Date | null = null;
    const consider = (at: Date | null | undefined) => {
      if (at && at.getTime() > now.getTime() && (!wake || at.getTime() < wake.getTime())) wake = at;
    };

    for (const schedule of schedules) {
      if (!schedule.enabled) continue;
      const { latest, next } = dueTimes(schedule, now);
      consider(next);
      if (!latest) continue;
      if (latest.getTime() < new Date(schedule.createdAt).getTime()) continue;
      if (schedule.lastDueAt && latest.getTime() <= new Date(schedule.lastDueAt).getTime()) continue;
      found.push({ schedule, dueAt: latest, attempt: 1, manual: false });
    }
    await dropClaimed(found);

    for (const run of await store.openDigestRuns()) {
      const schedule = byId.get(String(run.scheduleId));
      const takeOver =
        run.status === 'queued' ||
        (run.status === 'running' && (!run.leaseExpiresAt || new Date(run.leaseExpiresAt) <= now)) ||
        (run.status === 'failed' && (!run.retryAt || new Date(run.retryAt) <= now));
      if (run.status === 'running') consider(run.leaseExpiresAt ? new Date(run.leaseExpiresAt) : null);
      if (run.status === 'failed') consider(run.retryAt ? new Date(run.retryAt) : null);
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
    nextWake = wake;
    return shuffle(found);
  }

  /**
   * Removes occurrences some process already claimed, with one read, and raises those schedules'
   * hints in one write per due time (off the critical path), so later sweeps skip them for free.
   * Claims themselves write no hint: on FerretDB every write queues behind the others.
   */
  async function dropClaimed(found: Candidate[]): Promise<void> {
    if (found.length === 0) return;
    const earliest = new Date(Math.min(...found.map((c) => c.dueAt.getTime())));
    const claimed = await store.claimedOccurrences(earliest);
    const lagging = new Map<number, string[]>();
    for (let i = found.length - 1; i >= 0; i--) {
      const candidate = found[i]!;
      const due = candidate.dueAt.getTime();
      if (!claimed.has(`${candidate.schedule.id}|${due}`)) continue;
      found.splice(i, 1);
      lagging.set(due, [...(lagging.get(due) ?? []), candidate.schedule.id]);
    }
    for (const [due, ids] of lagging) {
      store
        .noteSchedulesDue(ids, new Date(due))
        .catch((error: unknown) => log.warn({ err: error }, 'could not note due times'));
    }
  }

  async function claim(candidate: Candidate, now: Date): Promise<DigestRunRecord | null> {
    const { schedule, dueAt, attempt } = candidate;
    const run = await store.claimDigestRun({
      scheduleId: schedule.id,
      dueAt,
      attempt,
      by: id,
      status: 'running',
      manual: candidate.manual,
      leaseExpiresAt: new Date(now.getTime() + leaseMs),
    });
    tried.set(`${schedule.id}|${dueAt.getTime()}|${attempt}`, now.getTime());
    if (run && candidate.previous) {
      store
        .updateDigestRun(candidate.previous.id, { status: 'superseded' })
        .catch((error: unknown) => log.warn({ err: error }, 'could not mark an attempt superseded'));
    }
    return run;
  }

  /** One slot per digest this process works on at once, shared by overlapping sweeps. */
  let free = concurrency;
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (free > 0) {
      free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  /** Occurrences this process is working on, so an overlapping sweep does not try them again. */
  const inFlight = new Set<string>();
  /**
   * Attempts this process already tried to claim (won or lost): an overlapping sweep planned before
   * the claim would otherwise spend an insert to learn it lost. Pruned after an hour.
   */
  const tried = new Map<string, number>();
  function triedBefore(candidate: Candidate): boolean {
    if (tried.size > 10_000) {
      const cutoff = Date.now() - 3_600_000;
      for (const [key, at] of tried) if (at < cutoff) tried.delete(key);
    }
    return tried.has(`${candidate.schedule.id}|${candidate.dueAt.getTime()}|${candidate.attempt}`);
  }
  const active = new Set<Promise<unknown>>();

  /**
   * One pass: claims and runs what is due; resolves when the runs this pass claimed are done.
   * Passes may overlap (a slow post does not hold up the next due digest); they share the slots.
   */
  async function sweep(): Promise<SweepResult> {
    const result: SweepResult = { ran: 0, posted: 0, failed: 0 };
    if (stopping) return result;
    const now = clock();
    const queue = await candidates(now);
    options.onPlanned?.(nextWake);
    if (queue.length) {
      const takeovers = queue.filter((c) => c.attempt > 1).length;
      log.debug(
        { candidates: queue.length, takeovers, wake: nextWake?.toISOString(), now: now.toISOString() },
        'digest sweep',
      );
    }
    const worker = async () => {
      for (let candidate = queue.shift(); candidate && !stopping; candidate = queue.shift()) {
        const key = `${candidate.schedule.id}|${candidate.dueAt.getTime()}`;
        if (inFlight.has(key) || triedBefore(candidate)) continue;
        await acquire();
        try {
          if (stopping || inFlight.has(key) || triedBefore(candidate)) continue;
          inFlight.add(key);
          const run = await claim(candidate, clock());
          if (!run) continue;
          result.ran++;
          const execution = execute(run, candidate.schedule);
          active.add(execution);
          const outcome = await execution.finally(() => active.delete(execution));
          options.onOutcome?.(outcome === 'superseded' ? 'skipped' : outcome);
          if (outcome === 'posted') result.posted++;
          if (outcome === 'failed') result.failed++;
        } catch (error) {
          log.error({ err: error, schedule: candidate.schedule.name }, 'digest run could not be recorded');
        } finally {
          inFlight.delete(key);
          release();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    return result;
  }

  return {
    id,
    sweep,
    /** The earliest time something becomes due, as of the last sweep (for an exact wake-up). */
    nextWake: (): Date | null => nextWake,
    /** Stops claiming; resolves when the digests being posted are done, or after `graceMs`. */
    async stop(graceMs = 30_000): Promise<boolean> {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const done = Promise.allSettled([...active]).then(() => true);
      const finished = await Promise.race([done, timedOut]);
      clearTimeout(timer);
      return finished;
    },
  };
}

export type DigestRunner = ReturnType<typeof createDigestRunner>;
