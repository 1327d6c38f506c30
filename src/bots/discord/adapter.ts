/**
 * Discord as one PlatformAdapter: signed interactions on /discord/interactions (acked "thinking…",
 * the worker's follow-up edits it), the gateway for mentions, DMs and threads, replies and digests
 * through @discordjs/rest. The server, worker and scheduler see only this object.
 */
import { InteractionResponseType } from 'discord-api-types/v10';
import {
  type Config,
  type Ingest,
  type Logger,
  loggingSink,
  type NormalizedEvent,
  type PlatformAdapter,
  type RetryOptions,
} from '../../core/index.js';
import type { Store } from '../../store/index.js';
import { createDiscordDigestChannel } from './digest.js';
import { startDiscordGateway } from './gateway.js';
import { createDiscordGatewayParser, createDiscordRoute } from './ingress.js';
import { createDiscordSink } from './sink.js';

export interface DiscordAdapterDeps {
  config: Config;
  logger: Logger;
  /** Thread membership for gateway replies in threads. */
  store?: Pick<Store, 'isKnownThread'> | undefined;
  /** Where DISCORD_API_URL is read (default process.env). */
  env?: Record<string, string | undefined>;
  retry?: RetryOptions;
}

const NO_THREADS: Pick<Store, 'isKnownThread'> = { isKnownThread: async () => false };

export function createDiscordAdapter(deps: DiscordAdapterDeps): PlatformAdapter {
  const { config, logger, retry } = deps;
  const secrets = config.secrets;
  const env = deps.env ?? process.env;
  const apiUrl = env.DISCORD_API_URL || undefined;
  const threads = deps.store ?? NO_THREADS;

  async function connect(ingest: Ingest) {
    const token = secrets.DISCORD_BOT_TOKEN;
    if (!token || !config.discord.gateway) return undefined;
    try {
      return await startDiscordGateway({
        token,
        messageContent: config.discord.messageContent,
        parser: createDiscordGatewayParser({ config, threads }),
        ingest,
        logger: logger.child({ transport: 'discord-gateway' }),
        rest: { apiUrl },
      });
    } catch (error) {
      logger.error(
        { err: error },
        'the Discord gateway could not connect; Discord is served over HTTP interactions only',
      );
      return undefined;
    }
  }

  function sinkFor(event: NormalizedEvent) {
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
      apiUrl,
      retry,
      logger,
      editIntervalMs: config.discord.editIntervalMs,
    });
  }

  return {
    platform: 'discord',
    routes: [
      {
        path: '/discord/interactions',
        accept: createDiscordRoute({ config }),
        // Discord never retries an interaction: a slow store must not become "interaction failed".
        journaled: true,
        // "Thinking…" until the worker's follow-up replaces it.
        ack: () => ({
          status: 200,
          body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
        }),
      },
    ],
    connect,
    sinkFor,
    // Gateway messages get a 👀; interactions already show "thinking…".
    showsReceipt: (event) => !event.replyTo.interactionToken && Boolean(event.replyTo.messageId),
    joinsThreads: true,
    keysReplies: true,
    digests: createDiscordDigestChannel({ botToken: secrets.DISCORD_BOT_TOKEN, apiUrl, retry }),
  };
}
