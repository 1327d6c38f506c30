/**
 * A scheduler assembled from config: posting with the Slack/Discord bot tokens, GitHub through the
 * App's installations, the `digests` settings, and the digests defined in config synced first.
 */
import type { Redis } from 'ioredis';
import type { Config, Logger } from '../core/index.js';
import { githubAccessFromConfig } from '../github/index.js';
import type { Store } from '../store/index.js';
import type { Summarise } from './compose.js';
import { syncConfigSchedules } from './config-schedules.js';
import { githubOctokitFor } from './ports.js';
import { createDigestPoster } from './post.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';

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
  /** Where SLACK_API_URL and DISCORD_API_URL are read (default process.env); GitHub's is config's. */
  env?: Record<string, string | undefined>;
}

export async function schedulerFromConfig(options: SchedulerFromConfigOptions): Promise<Scheduler> {
  const { config, store, logger } = options;
  const env = options.env ?? process.env;
  const secrets = config.secrets;
  await syncConfigSchedules(store, config.digests.schedules);
  let octokitFor: SchedulerOptions['octokitFor'] = options.octokitFor;
  if (!octokitFor) {
    const access = githubAccessFromConfig(config, { logger, redis: options.redis });
    if (access) octokitFor = githubOctokitFor(access);
  }
  const d = config.digests;
  return createScheduler({
    store,
    logger,
    poster: createDigestPoster({
      slackBotToken: secrets.SLACK_BOT_TOKEN,
      discordBotToken: secrets.DISCORD_BOT_TOKEN,
      slackApiUrl: env.SLACK_API_URL || undefined,
      discordApiUrl: env.DISCORD_API_URL || undefined,
      logger,
    }),
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
  });
}
