/**
 * The long-lived chat connections `deckhand start` keeps besides its HTTP port: Slack Socket Mode
 * (SLACK_APP_TOKEN) and the Discord gateway (DISCORD_BOT_TOKEN). Both feed the same parsers and the
 * same pipeline as the HTTP routes. One that cannot connect is logged and left off; HTTP still serves.
 */
import type { Config, Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import { createDiscordGatewayParser, startDiscordGateway } from './discord/index.js';
import type { Pipeline } from './pipeline.js';
import { createSlackBodyParser, startSlackSocketMode } from './slack/index.js';

export interface ChatConnectionDeps {
  config: Config;
  store: Store;
  pipeline: Pipeline;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

export async function startChatConnections(deps: ChatConnectionDeps) {
  const { config, store, pipeline, logger } = deps;
  const env = deps.env ?? process.env;
  const stops: Array<() => Promise<void>> = [];
  const ingest = (event: Parameters<Pipeline['ingest']>[0]) => pipeline.ingest(event);

  const appToken = config.secrets.SLACK_APP_TOKEN;
  if (appToken && config.slack.socketMode) {
    try {
      const socket = await startSlackSocketMode({
        appToken,
        apiUrl: env.SLACK_API_URL || undefined,
        logger: logger.child({ transport: 'slack-socket-mode' }),
        parse: createSlackBodyParser({ config, threads: store }),
        ingest,
      });
      stops.push(() => socket.stop());
    } catch (error) {
      logger.error({ err: error }, 'Slack Socket Mode could not connect; Slack is served over HTTP only');
    }
  }

  const botToken = config.secrets.DISCORD_BOT_TOKEN;
  if (botToken && config.discord.gateway) {
    try {
      const gateway = await startDiscordGateway({
        token: botToken,
        messageContent: config.discord.messageContent,
        parser: createDiscordGatewayParser({ config, threads: store }),
        ingest,
        logger: logger.child({ transport: 'discord-gateway' }),
        rest: { apiUrl: env.DISCORD_API_URL || undefined },
      });
      stops.push(() => gateway.stop());
    } catch (error) {
      logger.error(
        { err: error },
        'the Discord gateway could not connect; Discord is served over HTTP interactions only',
      );
    }
  }

  return {
    count: stops.length,
    async stop(): Promise<void> {
      await Promise.allSettled(stops.map((stop) => stop()));
    },
  };
}
