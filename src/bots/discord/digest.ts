/**
 * Digests into Discord channels: the composed embed as a channel message through the one Discord REST
 * client (src/bots/discord/rest.ts: rate-limit buckets, Retry-After waits, 5xx retries), with a nonce
 * derived from the (schedule, due time) and enforce_nonce, so a retry after a lost answer does not
 * post twice. Mentions in a digest never ping anyone (allowed_mentions: none).
 */
import { createHash } from 'node:crypto';
import { type RESTPostAPIChannelMessageJSONBody, Routes } from 'discord-api-types/v10';
import { z } from 'zod';
import {
  type ChannelTarget,
  type ComposedDigest,
  DeckhandError,
  type DigestChannel,
  type RetryOptions,
} from '../../core/index.js';
import { DISCORD_MAX_CONTENT } from './render.js';
import { createDiscordClient, type DiscordClient } from './rest.js';

export interface DiscordDigestOptions {
  botToken?: string | undefined;
  /** DISCORD_API_URL (a loopback stand-in in tests). */
  apiUrl?: string | undefined;
  retry?: RetryOptions | undefined;
}

const WHAT = 'Discord channel message';
const answerSchema = z.object({ id: z.string() });

/** 25 characters, Discord's nonce limit, stable for one (schedule, due time). */
export function discordNonce(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 25);
}

export function createDiscordDigestChannel(options: DiscordDigestOptions): DigestChannel {
  const retry = options.retry ?? {};
  /** Made on the first post, so its rate-limit buckets serve every later one. */
  let client: DiscordClient | undefined;

  async function send(
    channelId: string,
    body: RESTPostAPIChannelMessageJSONBody,
    timeoutMs?: number,
  ): Promise<string> {
    if (!options.botToken) {
      throw new DeckhandError('NOT_CONFIGURED', 'Discord digests need DISCORD_BOT_TOKEN; it is not set.');
    }
    client ??= createDiscordClient({ botToken: options.botToken, apiUrl: options.apiUrl, retry });
    const answer = await client.request(WHAT, 'post', Routes.channelMessages(channelId), {
      body: { allowed_mentions: { parse: [] }, ...body },
      // The runner keeps each request inside its lease.
      ...(timeoutMs === undefined
        ? {}
        : { signal: AbortSignal.timeout(Math.min(retry.timeoutMs ?? 15_000, timeoutMs)) }),
    });
    return answerSchema.safeParse(answer).data?.id ?? '';
  }

  return {
    async post(target: ChannelTarget, digest: ComposedDigest, key: string, limits = {}) {
      const body = {
        ...(digest.discord as RESTPostAPIChannelMessageJSONBody),
        nonce: discordNonce(key),
        enforce_nonce: true,
      };
      return { messageId: await send(target.channelId, body, limits.timeoutMs) };
    },
    async notice(target: ChannelTarget, text: string) {
      await send(target.channelId, { content: text.slice(0, DISCORD_MAX_CONTENT) });
    },
  };
}
