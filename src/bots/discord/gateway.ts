/**
 * The Discord gateway (discord.js): mentions, DMs and thread messages (MESSAGE_CREATE) and
 * interactions when no Interactions Endpoint URL is set (INTERACTION_CREATE). discord.js keeps the
 * connection, heartbeats, resumes and the channel cache; we take its raw dispatches and parse them
 * ourselves, so the same pure parsers and the same pipeline serve HTTP and the gateway.
 *
 * Intents: Guilds (channel cache, to know threads), GuildMessages, DirectMessages, and the
 * privileged MessageContent unless turned off (config discord.messageContent). Without it Discord
 * still sends the content of messages that mention the bot and of DMs, but not of other thread
 * messages; `deckhand doctor` says when the Developer Portal switch is off.
 */
import type { EventEmitter } from 'node:events';
import { Client, GatewayIntentBits, Partials } from 'discord.js';
import { InteractionResponseType } from 'discord-api-types/v10';
import type { Logger, NormalizedEvent, ParseOutcome } from '../../core/index.js';
import { isIngressError } from '../../core/index.js';
import type { IngestResult } from '../pipeline.js';
import { type DiscordRestOptions, respondToInteraction } from './application.js';
import type { createDiscordGatewayParser } from './ingress.js';

export interface GatewayDispatch {
  t?: string | null;
  d?: unknown;
}

export interface ChannelInfo {
  inThread: boolean;
  parentChannelId?: string;
}

export interface GatewayDeps {
  parser: ReturnType<typeof createDiscordGatewayParser>;
  ingest: (event: NormalizedEvent) => Promise<IngestResult>;
  /** The bot's own user id, once the gateway said READY. */
  botUserId: () => string | undefined;
  channelInfo: (channelId: string) => ChannelInfo;
  respond: (interaction: { id: string; token: string }, body: unknown) => Promise<void>;
  logger: Pick<Logger, 'warn' | 'debug'>;
}

export function gatewayIntents(messageContent: boolean): GatewayIntentBits[] {
  return [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.DirectMessages,
    ...(messageContent ? [GatewayIntentBits.MessageContent] : []),
  ];
}

function idAndToken(payload: unknown): { id: string; token: string } | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { id, token } = payload as { id?: unknown; token?: unknown };
  return typeof id === 'string' && typeof token === 'string' ? { id, token } : undefined;
}

function channelOf(payload: unknown): string {
  const channel = (payload as { channel_id?: unknown } | null)?.channel_id;
  return typeof channel === 'string' ? channel : '';
}

/** One raw dispatch: MESSAGE_CREATE and INTERACTION_CREATE become tasks; everything else is not ours. */
export async function handleGatewayDispatch(packet: GatewayDispatch, deps: GatewayDeps): Promise<void> {
  if (packet.t === 'MESSAGE_CREATE') {
    const botUserId = deps.botUserId();
    if (!botUserId) return; // not READY yet: we cannot tell our own messages apart
    let outcome: ParseOutcome;
    try {
      outcome = await deps.parser.message(packet.d, { botUserId, ...deps.channelInfo(channelOf(packet.d)) });
    } catch (error) {
      if (!isIngressError(error)) throw error;
      deps.logger.warn({ err: error }, 'Discord message not understood');
      return;
    }
    if (outcome.kind === 'event') await deps.ingest(outcome.event);
    else if (outcome.kind === 'ignore')
      deps.logger.debug({ reason: outcome.reason }, 'Discord message ignored');
    return;
  }
  if (packet.t === 'INTERACTION_CREATE') {
    const interaction = idAndToken(packet.d);
    if (!interaction) return;
    let outcome: ParseOutcome;
    try {
      outcome = deps.parser.interaction(packet.d);
    } catch (error) {
      if (!isIngressError(error)) throw error;
      deps.logger.warn({ err: error }, 'Discord interaction not understood');
      return;
    }
    if (outcome.kind === 'respond') {
      await deps.respond(interaction, outcome.body);
    } else if (outcome.kind === 'event') {
      await deps.ingest(outcome.event);
      // Deferred: Discord shows "thinking…" until the worker edits the response.
      await deps.respond(interaction, { type: InteractionResponseType.DeferredChannelMessageWithSource });
    }
  }
}

export interface DiscordGatewayOptions {
  token: string;
  messageContent: boolean;
  parser: GatewayDeps['parser'];
  ingest: GatewayDeps['ingest'];
  logger: Logger;
  rest?: DiscordRestOptions;
}

/** Logs in and serves until stop(). */
export async function startDiscordGateway(options: DiscordGatewayOptions) {
  const client = new Client({
    intents: gatewayIntents(options.messageContent),
    partials: [Partials.Channel], // DM channels are not cached before their first message
  });
  const deps: GatewayDeps = {
    parser: options.parser,
    ingest: options.ingest,
    botUserId: () => client.user?.id,
    channelInfo: (channelId) => {
      const channel = client.channels.cache.get(channelId);
      if (!channel?.isThread()) return { inThread: false };
      return channel.parentId ? { inThread: true, parentChannelId: channel.parentId } : { inThread: true };
    },
    respond: (interaction, body) => respondToInteraction(interaction, body, options.rest),
    logger: options.logger,
  };
  const emitter: EventEmitter = client;
  emitter.on('raw', (packet: GatewayDispatch) => {
    handleGatewayDispatch(packet, deps).catch((error: unknown) => {
      options.logger.warn({ err: error, dispatch: packet.t }, 'Discord dispatch not recorded');
    });
  });
  client.on('error', (error) => options.logger.warn({ err: error }, 'Discord gateway error'));
  try {
    await client.login(options.token);
  } catch (error) {
    const disallowed = /disallowed intents/i.test(String((error as Error).message));
    options.logger.error(
      { err: error },
      disallowed
        ? 'Discord refused the Message Content intent: turn it on under Bot > Privileged Gateway Intents in the Developer Portal, or set discord.messageContent: false'
        : 'Discord gateway login failed',
    );
    throw error;
  }
  options.logger.info({ user: client.user?.tag }, 'Discord gateway connected');
  return {
    client,
    async stop(): Promise<void> {
      await client.destroy();
    },
  };
}
