/**
 * A scheduler assembled from config: posting through the platform adapters' digest channels (given
 * by the composition root), GitHub through the App's installations, the `digests` settings, and the
 * digests defined in config synced first.
 */
import type { Redis } from 'ioredis';
import type { Config, Logger } from '../core/index.js';
import {
  githubAccessFromConfig,
  githubRedeliveryFromConfig,
  type RedeliveryOutcome,
} from '../github/index.js';
import type { Store } from '../store/index.js';
import type { Summarise } from './compose.js';
import { syncConfigSchedules } from './config-schedules.js';
import { githubOctokitFor } from './ports.js';
import { createDigestPoster, type DigestChannels } from './post.js';
import { createScheduler, type PeriodicJob, type Scheduler, type SchedulerOptions } from './scheduler.js';

export interface SchedulerFromConfigOptions {
  config: Config;
  store: Store;
  logger: Logger;
  summarise?: Summarise;
  reapContainers?: SchedulerOptions['reapContainers'];
  onTaskGaveUp?: SchedulerOptions['onTaskGaveUp'];
  onOutcome?: SchedulerOptions['onOutcome'];
  /**
   * Reads repositories for digests; default: the GitHub access from config (the App's installation on
   * each repository, or GITHUB_TOKEN), made like every other GitHub client.
   */
  octokitFor?: SchedulerOptions['octokitFor'];
  /** Shares the default GitHub client's throttling with other processes (REDIS_URL). */
  redis?: Redis;
  /** Each platform's digest channel: digestChannelsOf(adapters) from src/bots. */
  channels: DigestChannels;
  /** Told once per GitHub redelivery asked for (deckhand_github_redeliveries_total). */
  onGitHubRedelivery?: (outcome: RedeliveryOutcome) => void;
}

/**
 * GitHub redelivery as Agenda jobs: the App's webhook, or each repository hook configured for a
 * token (github.redelivery); none when off. Asked guids are remembered in Redis when given, else in
 * the store.
 */
function redeliveryJobs(options: SchedulerFromConfigOptions): PeriodicJob[] {
  const { config, store, logger } = options;
  const settings = config.github.redelivery;
  const jobs = githubRedeliveryFromConfig(config, settings, {
    store,
    redis: options.redis,
    logger,
    onRedelivery: options.onGitHubRedelivery,
  });
  return jobs.map((job) => ({
    name:
      job.source.kind === 'app'
        ? 'github:redeliver'
        : `github:redeliver:${job.source.owner}/${job.source.repo}:${job.source.hookId}`,
    everyMs: settings.intervalMinutes * 60_000,
    async run() {
      const report = await job.run();
      if (report.requested || report.failed) logger.info(report, 'GitHub redelivery run');
    },
  }));
}

export async function schedulerFromConfig(options: SchedulerFromConfigOptions): Promise<Scheduler> {
  const { config, store, logger } = options;
  await syncConfigSchedules(store, config.digests.schedules, new Date(), config.digests.minIntervalMinutes);
  let octokitFor: SchedulerOptions['octokitFor'] = options.octokitFor;
  if (!octokitFor) {
    const access = githubAccessFromConfig(config, { logger, redis: options.redis });
    if (access) octokitFor = githubOctokitFor(access);
  }
  const d = config.digests;
  return createScheduler({
    store,
    logger,
    // Agenda waits for its running jobs as long as the worker does for its tasks.
    shutdownGraceMs: config.tasks.shutdownGraceMs,
    poster: createDigestPoster(options.channels),
    octokitFor,
    summarise: options.summarise,
    sweepSeconds: d.sweepSeconds,
    concurrency: d.concurrency,
    leaseMs: d.leaseMs,
    maxAttempts: d.maxAttempts,
    retryBaseMs: d.retryBaseMs,
    purgeMinutes: d.purgeMinutes,
    leaseSweepSeconds: d.leaseSweepSeconds,
    reapMinutes: d.reapMinutes,
    runRetentionDays: d.runRetentionDays,
    deliveryRetentionHours: config.tasks.deliveryRetentionHours,
    ...(options.reapContainers ? { reapContainers: options.reapContainers } : {}),
    ...(options.onTaskGaveUp ? { onTaskGaveUp: options.onTaskGaveUp } : {}),
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
    jobs: redeliveryJobs(options),
  });
}
