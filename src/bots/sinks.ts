/**
 * Picks the reply sink for an event's platform. A platform whose credentials are missing gets a sink
 * that logs each reply at warn level, naming the variable to set, so nothing vanishes silently.
 */
import type {
  Config,
  Logger,
  NormalizedEvent,
  ReplySink,
  RetryOptions,
  SecretVariable,
} from '../core/index.js';
import {
  isDeckhandError,
  loggingSink,
  missingSettings,
  normalizedEventSchema,
  DeckhandError as SinkConfigError,
} from '../core/index.js';

export { loggingSink } from '../core/index.js';

import { createGitHubSink, type GitHubClient, githubInstallationClient } from '../github/index.js';
import type { Store, TaskRecord } from '../store/index.js';
import { createDiscordSink } from './discord/index.js';
import { authorizeSlackWorkspace, createSlackSink } from './slack/index.js';

export type SinkFactory = (event: NormalizedEvent) => ReplySink;

export interface SinkFactoryOptions {
  config: Config;
  logger: Logger;
  /** An installation-authenticated client for the event; default: one per installation from the App's key. */
  githubClientFor?: (event: NormalizedEvent) => GitHubClient;
  /**
   * Where SLACK_API_URL, SLACK_RESPONSE_URL_ORIGINS (comma-separated origins a slash command's
   * response_url may have; default https://hooks.slack.com), DISCORD_API_URL and GITHUB_API_URL are
   * read (default process.env).
   */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
  /** Multi-workspace Slack (with SLACK_CLIENT_ID): installed workspaces' tokens; SLACK_BOT_TOKEN serves the rest. */
  installations?: Pick<Store, 'findInstallation'>;
  /** Where threads Deckhand has posted in are remembered, so plain replies there continue the talk. */
  threads?: Pick<Store, 'markThread'>;
}

/**
 * Remembers the thread once the first reply is posted in it: from then on Deckhand is part of that
 * thread. Done here, in the worker, so accepting a request costs no extra write.
 */
export function rememberingThread(
  sink: ReplySink,
  event: NormalizedEvent,
  threads: Pick<Store, 'markThread'>,
  logger: Logger,
): ReplySink {
  if (!event.threadId || (event.platform !== 'slack' && event.platform !== 'discord')) return sink;
  let marked = false;
  const key = {
    platform: event.platform,
    workspaceId: event.workspaceId,
    channelId: event.channelId,
    threadId: event.threadId,
  };
  return {
    async post(text, more) {
      const posted = await sink.post(text, more);
      if (!marked) {
        marked = true;
        await threads
          .markThread(key)
          .catch((error: unknown) =>
            logger.warn({ err: error, thread: key.threadId }, 'could not remember the thread'),
          );
      }
      return posted;
    },
    update: (reply, text, more) => sink.update(reply, text, more),
    status: (status) => sink.status(status),
  };
}

/**
 * The bot token for a Slack workspace: its installation (OAuth, multi-workspace), else SLACK_BOT_TOKEN.
 * Looked up when a reply is sent, so a workspace installed a second ago is served at once.
 */
export function slackTokenLookup(
  workspaceId: string,
  fallback: string | undefined,
  installations: Pick<Store, 'findInstallation'> | undefined,
): () => Promise<string> {
  return async () => {
    const { botToken } = await authorizeSlackWorkspace(
      { installations, botToken: fallback },
      { teamId: workspaceId },
    );
    if (!botToken)
      throw new SinkConfigError('CONFIG_MISSING', `No Slack bot token for workspace ${workspaceId}.`);
    return botToken;
  };
}

/** `X is not set` / `X and Y are not set`, or undefined when all are set. */
function missingOf(config: Config, names: SecretVariable[]): string | undefined {
  return missingSettings(config.secrets, names);
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
        // Installed workspaces are looked up only when the OAuth install flow is configured.
        const installations = secrets.SLACK_CLIENT_ID ? options.installations : undefined;
        if (!botToken && !installations) {
          return loggingSink(logger, event, 'SLACK_BOT_TOKEN (or SLACK_CLIENT_ID for installs) is not set');
        }
        return createSlackSink(event, {
          botToken: installations
            ? slackTokenLookup(event.workspaceId, botToken, installations)
            : (botToken ?? ''),
          apiUrl: env.SLACK_API_URL || undefined,
          ...(env.SLACK_RESPONSE_URL_ORIGINS
            ? { responseUrlOrigins: env.SLACK_RESPONSE_URL_ORIGINS.split(',').map((o) => o.trim()) }
            : {}),
          retry,
          logger,
          editIntervalMs: config.slack.editIntervalMs,
          fileOverChars: config.slack.fileOverChars,
        });
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
          editIntervalMs: config.discord.editIntervalMs,
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
      const sink = sinkFor(event);
      return options.threads ? rememberingThread(sink, event, options.threads, logger) : sink;
    } catch (error) {
      // An event without usable addressing still gets its replies into the log.
      if (!isDeckhandError(error)) throw error;
      return loggingSink(logger, event, error.userMessage);
    }
  };
}

/**
 * Shows "working" on a chat message the moment its task is durable (a 👀 reaction on Slack and on
 * Discord gateway messages), before any worker picks it up. Subscribe it to pipeline.onTask in the
 * process that serves requests. Interactions already show "thinking…", slash commands "On it…".
 */
export function acknowledgeReceipt(sinkFor: SinkFactory, logger: Logger): (task: TaskRecord) => void {
  return (task) => {
    const parsed = normalizedEventSchema.safeParse(task.payload);
    if (!parsed.success) return;
    const event = parsed.data;
    const chatMessage =
      (event.platform === 'slack' &&
        Boolean(event.replyTo.messageTs) &&
        event.eventType !== 'block_actions') ||
      (event.platform === 'discord' && !event.replyTo.interactionToken && Boolean(event.replyTo.messageId));
    if (!chatMessage) return;
    sinkFor(event)
      .status('working')
      .catch((error: unknown) =>
        logger.warn({ err: error, task: task.id }, 'could not show the working status'),
      );
  };
}
