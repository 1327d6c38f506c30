/**
 * Posts a composed digest into its channel: Slack chat.postMessage with blocks, or a Discord channel
 * message with an embed. Transient failures (429, 5xx, network) are retried inside one attempt (Slack:
 * the shared sink-http loop; Discord: @discordjs/rest, see discord-digest.ts); what still fails fails
 * the attempt, and the runner retries it later and finally reports it in the channel.
 *
 * Discord gets a nonce derived from the run with enforce_nonce, so a retry after a lost answer does
 * not post twice. Slack has no such key; the run log keeps the window for that small.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../core/index.js';
import {
  type Attempt,
  DeckhandError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  SLACK_API_URL,
  sendJson,
  withRetries,
} from '../core/index.js';
import type { Platform } from '../store/index.js';
import type { ComposedDigest } from './compose.js';
import { createDiscordChannelPost, type DiscordChannelPost } from './discord-digest.js';

export interface DigestTarget {
  platform: Platform;
  workspaceId: string;
  channelId: string;
}

export interface DigestPoster {
  /**
   * Posts the digest; `key` identifies the (schedule, due time) for idempotency where supported.
   * `timeoutMs` bounds each request (the runner keeps it inside its lease).
   */
  post(
    target: DigestTarget,
    digest: ComposedDigest,
    key: string,
    limits?: { timeoutMs?: number },
  ): Promise<{ messageId: string }>;
  /** A short plain message (the failure report). */
  notice(target: DigestTarget, text: string): Promise<void>;
}

export interface DigestPosterOptions {
  slackBotToken?: string | undefined;
  discordBotToken?: string | undefined;
  /** Test or proxy bases (SLACK_API_URL, DISCORD_API_URL). */
  slackApiUrl?: string | undefined;
  discordApiUrl?: string | undefined;
  retry?: RetryOptions;
  logger?: Logger;
}

const slackAnswer = z.object({ ok: z.boolean(), error: z.string().optional(), ts: z.string().optional() });
const SLACK_RETRYABLE = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
]);

function discordNonce(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 25);
}

export function createDigestPoster(options: DigestPosterOptions): DigestPoster {
  const slackBase = (options.slackApiUrl || SLACK_API_URL).replace(/\/+$/, '');
  /** Made on the first Discord post, so its rate-limit buckets serve every later one. */
  let discordPost: DiscordChannelPost | undefined;
  const retry = options.retry ?? {};

  async function slack(channel: string, body: Record<string, unknown>, timeoutMs?: number): Promise<string> {
    const token = options.slackBotToken;
    if (!token) {
      throw new DeckhandError('NOT_CONFIGURED', 'Slack digests need SLACK_BOT_TOKEN; it is not set.');
    }
    return withRetries(
      'Slack chat.postMessage',
      async (): Promise<Attempt<string>> => {
        const response = await sendJson(`${slackBase}/chat.postMessage`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: { channel, unfurl_links: false, unfurl_media: false, ...body },
          timeoutMs: Math.min(retry.timeoutMs ?? 15_000, timeoutMs ?? Number.POSITIVE_INFINITY),
        });
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
        if (response.status !== 200) {
          return {
            ok: false,
            retry: isRetryableStatus(response.status),
            reason: `HTTP ${response.status}`,
            retryAfterMs,
          };
        }
        const answer = slackAnswer.safeParse(response.body);
        if (!answer.success) return { ok: false, retry: true, reason: 'unreadable answer' };
        if (!answer.data.ok) {
          const error = answer.data.error ?? 'unknown_error';
          return { ok: false, retry: SLACK_RETRYABLE.has(error), reason: error, retryAfterMs };
        }
        return { ok: true, value: answer.data.ts ?? '' };
      },
      retry,
    );
  }

  async function discord(
    channel: string,
    body: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<string> {
    const token = options.discordBotToken;
    if (!token) {
      throw new DeckhandError('NOT_CONFIGURED', 'Discord digests need DISCORD_BOT_TOKEN; it is not set.');
    }
    discordPost ??= createDiscordChannelPost({ botToken: token, apiUrl: options.discordApiUrl, retry });
    return discordPost(
      channel,
      { allowed_mentions: { parse: [] }, ...body },
      Math.min(retry.timeoutMs ?? 15_000, timeoutMs ?? Number.POSITIVE_INFINITY),
    );
  }

  function unsupported(target: DigestTarget): never {
    throw new DeckhandError(
      'BAD_REQUEST',
      `Digests can be posted to Slack or Discord channels, not to ${target.platform}.`,
    );
  }

  return {
    async post(target, digest, key, limits = {}) {
      switch (target.platform) {
        case 'slack':
          return { messageId: await slack(target.channelId, digest.slack, limits.timeoutMs) };
        case 'discord':
          return {
            messageId: await discord(
              target.channelId,
              { ...digest.discord, nonce: discordNonce(key), enforce_nonce: true },
              limits.timeoutMs,
            ),
          };
        case 'terminal':
          options.logger?.info({ channel: target.channelId, text: digest.text }, 'digest (terminal)');
          return { messageId: `terminal:${key}` };
        default:
          return unsupported(target);
      }
    },
    async notice(target, text) {
      switch (target.platform) {
        case 'slack':
          await slack(target.channelId, { text });
          return;
        case 'discord':
          await discord(target.channelId, { content: text.slice(0, 2000) });
          return;
        case 'terminal':
          options.logger?.warn({ channel: target.channelId, text }, 'digest notice (terminal)');
          return;
        default:
          unsupported(target);
      }
    },
  };
}
