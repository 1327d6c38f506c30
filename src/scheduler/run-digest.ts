/**
 * One claimed digest attempt, from composing to posting or recording its failure (split out of
 * runner.ts, which decides what is claimed and by whom). The attempt holds its lease while it works and
 * posts only while a third of it is left; see runner.ts for why that keeps a digest from being doubled.
 */
import type { Octokit } from '@octokit/rest';
import { isDeckhandError, type Logger, userMessageOf } from '../core/index.js';
import type { DigestRunRecord, ScheduleRecord, Store } from '../store/index.js';
import { composeWithSummary, type Summarise } from './compose.js';
import { formatLocal } from './cron.js';
import { digestActivity, windowStart } from './due.js';
import type { DigestPoster, DigestTarget } from './post.js';

export type DigestOutcome = 'posted' | 'failed' | 'superseded';

/** What an attempt needs from its runner: the runner's options, resolved to their defaults. */
export interface RunDigestContext {
  store: Store;
  poster: DigestPoster;
  octokitFor?: ((repo: string) => Promise<Octokit> | Octokit) | undefined;
  summarise?: Summarise | undefined;
  clock: () => Date;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  log: Logger;
}

interface HeldLease {
  /** The lease end this process last wrote (ms since the epoch). */
  until(): number;
  release(): void;
}

/** Renews the run's lease every third of it until released. */
function holdLease(ctx: RunDigestContext, run: DigestRunRecord, margin: number): HeldLease {
  let leaseUntil = run.leaseExpiresAt
    ? new Date(run.leaseExpiresAt).getTime()
    : ctx.clock().getTime() + ctx.leaseMs;
  const renew = setInterval(
    () => {
      const until = ctx.clock().getTime() + ctx.leaseMs;
      ctx.store
        .updateDigestRun(run.id, { leaseExpiresAt: new Date(until) })
        .then(() => {
          leaseUntil = Math.max(leaseUntil, until);
        })
        .catch((error: unknown) =>
          ctx.log.warn({ err: error, run: run.id }, 'could not renew a digest lease'),
        );
    },
    Math.max(250, margin),
  );
  return { until: () => leaseUntil, release: () => clearInterval(renew) };
}

function targetOf(schedule: ScheduleRecord): DigestTarget {
  return {
    platform: schedule.platform,
    workspaceId: schedule.workspaceId,
    channelId: schedule.channelId,
  };
}

async function composeDigest(ctx: RunDigestContext, schedule: ScheduleRecord, dueAt: Date) {
  const since = windowStart(schedule, dueAt);
  const repos = await digestActivity(ctx.octokitFor, schedule, since, dueAt);
  return composeWithSummary(
    {
      name: schedule.name,
      destination: targetOf(schedule),
      timezone: schedule.timezone,
      since,
      until: dueAt,
      repos,
    },
    ctx.summarise,
    (error) =>
      ctx.log.warn({ err: error, schedule: schedule.id }, 'digest summary failed; posting the template'),
  );
}

/**
 * Records a post that happened. Never throws: a digest in the channel must not be retried because
 * the write about it failed (the lease then expires with the run still `running`; a takeover
 * finds the post already made only on Discord, so the write is retried here first).
 */
async function recordPosted(
  ctx: RunDigestContext,
  run: DigestRunRecord,
  schedule: ScheduleRecord,
  dueAt: Date,
  messageId: string,
): Promise<void> {
  const set = { status: 'posted' as const, postedAt: ctx.clock(), messageId, leaseExpiresAt: null };
  // Not p-retry: it would rethrow after the last try and skip the wait that follows it here.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await Promise.all([
        ctx.store.updateDigestRun(run.id, set),
        run.manual ? undefined : ctx.store.noteSchedulePosted(schedule.id, dueAt),
      ]);
      return;
    } catch (error) {
      ctx.log.error(
        { err: error, schedule: schedule.name, attempt },
        'posted a digest but could not record it',
      );
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** A failed attempt: a retry time with exponential backoff, or, after the last, a notice in the channel. */
async function recordFailure(
  ctx: RunDigestContext,
  run: DigestRunRecord,
  schedule: ScheduleRecord,
  dueAt: Date,
  error: unknown,
): Promise<void> {
  const retryable = !isDeckhandError(error) || error.retryable;
  const message = userMessageOf(error);
  if (retryable && run.attempt < ctx.maxAttempts) {
    const retryAt = new Date(ctx.clock().getTime() + ctx.retryBaseMs * 2 ** (run.attempt - 1));
    await ctx.store.updateDigestRun(run.id, {
      status: 'failed',
      error: message,
      retryAt,
      leaseExpiresAt: null,
    });
    ctx.log.warn(
      { err: error, schedule: schedule.name, attempt: run.attempt, retryAt },
      'digest failed; will retry',
    );
    return;
  }
  await ctx.store.updateDigestRun(run.id, { status: 'gave_up', error: message, leaseExpiresAt: null });
  ctx.log.error({ err: error, schedule: schedule.name, attempt: run.attempt }, 'digest failed for good');
  const when = formatLocal(dueAt, schedule.timezone);
  await ctx.poster
    .notice(
      targetOf(schedule),
      `⚠️ I could not post the digest "${schedule.name}" due ${when} (${run.attempt} attempt${run.attempt > 1 ? 's' : ''}): ${message}`,
    )
    .catch((noticeError: unknown) =>
      ctx.log.error(
        { err: noticeError, schedule: schedule.name },
        'could not report the failed digest either',
      ),
    );
}

/** Runs one claimed attempt to its outcome. */
export async function runDigest(
  ctx: RunDigestContext,
  run: DigestRunRecord,
  schedule: ScheduleRecord,
): Promise<DigestOutcome> {
  // Held until `lease.until()` (what this process last wrote). Another process takes over only once
  // the stored lease has passed, so posting only while a third of the lease is left, with the
  // request bounded by that third, keeps two processes from posting the same digest.
  const margin = Math.floor(ctx.leaseMs / 3);
  const lease = holdLease(ctx, run, margin);
  const dueAt = new Date(run.dueAt);
  try {
    const digest = await composeDigest(ctx, schedule, dueAt);
    // A process that stalled past its lease must not post what its successor already took over.
    if (ctx.clock().getTime() > lease.until() - margin) {
      ctx.log.warn(
        { schedule: schedule.name, attempt: run.attempt },
        'digest lease nearly lost; leaving it to another process',
      );
      return 'superseded';
    }
    if (await ctx.store.digestRunSuperseded(run)) return 'superseded';
    const key = `${schedule.id}:${dueAt.toISOString()}`;
    const { messageId } = await ctx.poster.post(targetOf(schedule), digest, key, { timeoutMs: margin });
    await recordPosted(ctx, run, schedule, dueAt, messageId);
    ctx.log.info({ schedule: schedule.name, dueAt, attempt: run.attempt }, 'digest posted');
    return 'posted';
  } catch (error) {
    await recordFailure(ctx, run, schedule, dueAt, error);
    return 'failed';
  } finally {
    lease.release();
  }
}
