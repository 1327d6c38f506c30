/**
 * The platforms Deckhand serves, as PlatformAdapter objects: Slack, Discord, GitHub and the
 * terminal, each configured from the operator's config and environment. The composition root
 * (src/cli) builds this list once and hands it to the server, the reply sinks, the chat connections
 * and the digest scheduler; nothing else picks a platform by name.
 */
import type {
  Config,
  DigestChannel,
  EventPlatform,
  Logger,
  NormalizedEvent,
  PlatformAdapter,
  RetryOptions,
} from '../core/index.js';
import { createGitHubAdapter, type GitHubClient } from '../github/index.js';
import type { Store } from '../store/index.js';
import { createDiscordAdapter } from './discord/index.js';
import { createSlackAdapter } from './slack/index.js';
import { createTerminalAdapter } from './terminal/index.js';

export interface PlatformAdapterDeps {
  config: Config;
  logger: Logger;
  /** Thread membership, Slack installations; without it, only SLACK_BOT_TOKEN serves Slack. */
  store?: Store | undefined;
  /** Where SLACK_API_URL, DISCORD_API_URL, GITHUB_API_URL and the like are read (default process.env). */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
  /** An installation-authenticated GitHub client for an event (default: from the App's key). */
  githubClientFor?: (event: NormalizedEvent) => GitHubClient;
}

export function platformAdapters(deps: PlatformAdapterDeps): PlatformAdapter[] {
  const { config, logger, store, env, retry } = deps;
  const common = {
    config,
    logger,
    ...(env ? { env } : {}),
    ...(retry ? { retry } : {}),
  };
  return [
    createSlackAdapter({ ...common, ...(store ? { store } : {}) }),
    createDiscordAdapter({ ...common, store }),
    createGitHubAdapter({
      ...common,
      anchors: store,
      ...(deps.githubClientFor ? { clientFor: deps.githubClientFor } : {}),
    }),
    createTerminalAdapter({ logger }),
  ];
}

/** Each adapter that can post digests, by platform: what the digest scheduler is given. */
export function digestChannelsOf(
  adapters: readonly PlatformAdapter[],
): Partial<Record<EventPlatform, DigestChannel>> {
  const channels: Partial<Record<EventPlatform, DigestChannel>> = {};
  for (const adapter of adapters) if (adapter.digests) channels[adapter.platform] = adapter.digests;
  return channels;
}
