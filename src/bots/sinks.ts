/**
 * Picks the reply sink for an event's platform. A platform whose credentials are missing gets a sink
 * that logs each reply at warn level, naming the variable to set, so nothing vanishes silently.
 */
import type { Config, SecretVariable } from '../core/config.js';
import { isDeckhandError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createGitHubSink, type GitHubClient, githubInstallationClient } from '../github/sink.js';
import { createDiscordSink } from './discord/sink.js';
import type { NormalizedEvent } from './events.js';
import type { PostedReply, ReplySink, ReplyStatus } from './reply.js';
import type { RetryOptions } from './sink-http.js';
import { createSlackSink } from './slack/sink.js';

export type SinkFactory = (event: NormalizedEvent) => ReplySink;

export interface SinkFactoryOptions {
  config: Config;
  logger: Logger;
  /** An installation-authenticated client for the event; default: one per installation from the App's key. */
  githubClientFor?: (event: NormalizedEvent) => GitHubClient;
  /** Where SLACK_API_URL, DISCORD_API_URL and GITHUB_API_URL are read (default process.env). */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
}

/** Logs what would have been shown; `reason` says why (e.g. which variable to set). */
export function loggingSink(logger: Logger, event: NormalizedEvent, reason: string): ReplySink {
  const where = { platform: event.platform, channel: event.channelId, thread: event.threadId };
  const message = `${reason}: reply logged instead of sent to ${event.platform}`;
  let count = 0;
  return {
    async post(text: string): Promise<PostedReply> {
      logger.warn({ ...where, text }, message);
      return { id: `logged:${count++}` };
    },
    async update(reply: PostedReply, text: string): Promise<void> {
      logger.warn({ ...where, reply: reply.id, text }, message);
    },
    async status(status: ReplyStatus): Promise<void> {
      logger.debug({ ...where, status }, message);
    },
  };
}

/** `X is not set` / `X and Y are not set`, or undefined when all are set. */
function missingOf(config: Config, names: SecretVariable[]): string | undefined {
  const missing = names.filter((name) => !config.secrets[name]);
  if (!missing.length) return undefined;
  return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`;
}

export function createSinkFactory(options: SinkFactoryOptions): SinkFactory {
  const { config, logger, retry } = options;
  const env = options.env ?? process.env;
  const secrets = config.secrets;
  const installationClients = new Map<string, GitHubClient>();

  function githubClient(event: NormalizedEvent): GitHubClient | string {
    if (options.githubClientFor) return options.githubClientFor(event);
    const missing = missingOf(config, ['GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY']);
    if (missing) return missing;
    if (!/^\d+$/.test(event.workspaceId)) return 'the GitHub webhook names no App installation';
    let client = installationClients.get(event.workspaceId);
    if (!client) {
      client = githubInstallationClient({
        appId: secrets.GITHUB_APP_ID!,
        privateKey: secrets.GITHUB_PRIVATE_KEY!,
        installationId: event.workspaceId,
        baseUrl: env.GITHUB_API_URL || undefined,
      });
      installationClients.set(event.workspaceId, client);
    }
    return client;
  }

  function sinkFor(event: NormalizedEvent): ReplySink {
    switch (event.platform) {
      case 'slack': {
        const botToken = secrets.SLACK_BOT_TOKEN;
        if (!botToken) return loggingSink(logger, event, 'SLACK_BOT_TOKEN is not set');
        return createSlackSink(event, { botToken, apiUrl: env.SLACK_API_URL || undefined, retry, logger });
      }
      case 'discord': {
        const viaInteraction = Boolean(event.replyTo.interactionToken);
        const applicationId = event.replyTo.applicationId ?? secrets.DISCORD_APPLICATION_ID;
        if (viaInteraction && !applicationId) {
          return loggingSink(logger, event, 'DISCORD_APPLICATION_ID is not set');
        }
        if (!viaInteraction && !secrets.DISCORD_BOT_TOKEN) {
          return loggingSink(logger, event, 'DISCORD_BOT_TOKEN is not set');
        }
        return createDiscordSink(event, {
          botToken: secrets.DISCORD_BOT_TOKEN,
          applicationId,
          apiUrl: env.DISCORD_API_URL || undefined,
          retry,
          logger,
        });
      }
      case 'github': {
        const client = githubClient(event);
        if (typeof client === 'string') return loggingSink(logger, event, client);
        return createGitHubSink(event, { client, retry });
      }
      default:
        return loggingSink(logger, event, `there is no reply sink for ${event.platform} events`);
    }
  }

  return (event: NormalizedEvent): ReplySink => {
    try {
      return sinkFor(event);
    } catch (error) {
      // An event without usable addressing still gets its replies into the log.
      if (!isDeckhandError(error)) throw error;
      return loggingSink(logger, event, error.userMessage);
    }
  };
}
