/**
 * Digest posts into a Discord channel through `@discordjs/rest` (its per-route rate-limit buckets,
 * 429 waits and 5xx retries), with the bot token in the Authorization header only. It mirrors
 * src/bots/discord/rest.ts: the scheduler may not import src/bots (bots imports the scheduler), so
 * the few lines that set the client up live here too.
 *
 * - DISCORD_API_URL carries the version (`…/api/v10`); a base without `/vN` (the loopback stand-in)
 *   is used as is.
 * - A 4xx other than 429 is not retried; a connection failure is retried by the sink-http loop.
 */
import { STATUS_CODES } from 'node:http';
import { DiscordAPIError, HTTPError, RateLimitError, REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { z } from 'zod';
import {
  DeckhandError,
  DISCORD_API_URL,
  fetchWithBodyRetryAfter,
  type RetryOptions,
  redactText,
  withRetries,
} from '../core/index.js';

export interface DiscordDigestOptions {
  botToken: string;
  apiUrl?: string | undefined;
  retry?: RetryOptions | undefined;
}

/** One channel message (a RESTPostAPIChannelMessageJSONBody); resolves to its id ('' if none). */
export type DiscordChannelPost = (
  channel: string,
  body: Record<string, unknown>,
  timeoutMs?: number,
) => Promise<string>;

const WHAT = 'Discord channel message';
const answerSchema = z.object({ id: z.string() });

function failure(reason: string, retryable: boolean): DeckhandError {
  const message = `${WHAT} failed: ${reason}${retryable ? '. Try again in a minute.' : '.'}`;
  return new DeckhandError('UPSTREAM_FAILED', redactText(message), { retryable });
}

export function createDiscordChannelPost(options: DiscordDigestOptions): DiscordChannelPost {
  const retry = options.retry ?? {};
  const tries = Math.max(1, retry.tries ?? 3);
  const maxRetryAfterMs = retry.maxRetryAfterMs ?? 60_000;
  const url = (options.apiUrl || DISCORD_API_URL).replace(/\/+$/, '');
  const versionMatch = /^(.*)\/v(\d+)$/.exec(url);
  const rest = new REST({
    api: versionMatch?.[1] ?? url,
    ...(versionMatch?.[2] ? { version: versionMatch[2] } : {}),
    retries: tries - 1,
    timeout: retry.timeoutMs ?? 15_000,
    rejectOnRateLimit: (limit) => limit.retryAfter > maxRetryAfterMs,
    makeRequest: (target, init) => fetchWithBodyRetryAfter(target, init as RequestInit),
  });
  const versioned = Boolean(versionMatch?.[2]);

  return (channel, body, timeoutMs) =>
    withRetries(
      WHAT,
      async () => {
        try {
          // The client forgets its token after a 401; set it again so the next post says 401 too.
          rest.setToken(options.botToken);
          const answer = await rest.post(Routes.channelMessages(channel), {
            body,
            versioned,
            // The runner keeps each request inside its lease.
            ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
          });
          return { ok: true as const, value: answerSchema.safeParse(answer).data?.id ?? '' };
        } catch (error) {
          if (error instanceof DiscordAPIError) throw failure(`HTTP ${error.status}`, false);
          if (error instanceof HTTPError) {
            const text = error.message || STATUS_CODES[error.status] || 'server error';
            throw failure(`HTTP ${error.status} (${text}) (gave up after ${tries} tries)`, true);
          }
          if (error instanceof RateLimitError) {
            throw failure(`HTTP 429, rate limited for ${Math.ceil(error.retryAfter / 1000)} s`, true);
          }
          if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
            throw failure(`the request timed out (gave up after ${tries} tries)`, true);
          }
          return { ok: false as const, retry: true, reason: 'network error' };
        }
      },
      { ...retry, tries },
    );
}
