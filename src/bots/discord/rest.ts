/**
 * The one way Deckhand talks to Discord's REST API: an `@discordjs/rest` client (its own per-route
 * rate-limit buckets, Retry-After waits and 5xx retries) set up from Deckhand's options, and the
 * translation of its failures into DeckhandErrors whose messages name the operation, never the URL
 * (interaction tokens are part of webhook URLs).
 *
 * - DISCORD_API_URL is a base with the version (`https://discord.com/api/v10`); `@discordjs/rest`
 *   wants the base and the version apart, and a base without `/vN` (a test stand-in) is used as is.
 * - Requests go through the global fetch, so nock and loopback stand-ins see them.
 * - A 4xx other than 429 is not retried (DiscordAPIError); a 5xx or a timeout is retried `tries - 1`
 *   times by the client; a connection failure is retried by the shared sink-http loop.
 * - A 429 is waited out by the client, unless Discord asks for longer than `maxRetryAfterMs`.
 */
import { STATUS_CODES } from 'node:http';
import {
  DiscordAPIError,
  HTTPError,
  RateLimitError,
  REST,
  type RequestData,
  type RouteLike,
} from '@discordjs/rest';
import {
  DeckhandError,
  DISCORD_API_URL,
  fetchWithBodyRetryAfter,
  type RetryOptions,
  redactText,
  withRetries,
} from '../../core/index.js';

export interface DiscordClientOptions {
  /** API base with the version, default https://discord.com/api/v10 (DISCORD_API_URL). */
  apiUrl?: string | undefined;
  /** Sent as `Authorization: Bot …` on requests that do not opt out with `auth: false`. */
  botToken?: string | undefined;
  retry?: RetryOptions | undefined;
}

export type DiscordMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface DiscordRequest extends Pick<RequestData, 'auth' | 'body' | 'files' | 'signal'> {}

export interface DiscordClient {
  /** One call; `what` names it in errors ("Discord channel message failed: HTTP 403 …"). */
  request(what: string, method: DiscordMethod, route: RouteLike, data?: DiscordRequest): Promise<unknown>;
}

/** Splits `https://discord.com/api/v10` into the client's `api` and `version` options. */
export function discordApiBase(apiUrl: string | undefined): { api: string; version?: string } {
  const url = (apiUrl || DISCORD_API_URL).replace(/\/+$/, '');
  const match = /^(.*)\/v(\d+)$/.exec(url);
  return match?.[1] && match[2] ? { api: match[1], version: match[2] } : { api: url };
}

/** Discord's error text: "HTTP 401 (Invalid Webhook Token, code 50027)". */
function apiReason(error: DiscordAPIError): string {
  const code = typeof error.code === 'number' ? `, code ${error.code}` : '';
  const raw = error.rawError;
  const text = 'message' in raw ? raw.message : raw.error;
  return `HTTP ${error.status} (${text}${code})`;
}

function timedOut(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/**
 * The DeckhandError for a failure the client already retried as far as it should, or undefined for
 * a connection failure that the caller may still retry.
 */
export function discordFailure(what: string, error: unknown, tries: number): DeckhandError | undefined {
  const fail = (reason: string, retryable: boolean) =>
    new DeckhandError(
      'UPSTREAM_FAILED',
      redactText(`${what} failed: ${reason}${retryable ? '. Try again in a minute.' : '.'}`),
      { retryable },
    );
  if (error instanceof DeckhandError) return error;
  if (error instanceof DiscordAPIError) return fail(apiReason(error), false);
  if (error instanceof HTTPError) {
    const text = error.message || STATUS_CODES[error.status] || 'server error';
    return fail(`HTTP ${error.status} (${text}) (gave up after ${tries} tries)`, true);
  }
  if (error instanceof RateLimitError) {
    return fail(`HTTP 429, rate limited for ${Math.ceil(error.retryAfter / 1000)} s`, true);
  }
  if (timedOut(error)) return fail(`the request timed out (gave up after ${tries} tries)`, true);
  return undefined;
}

/** A client for one base URL and token. */
export function createDiscordClient(options: DiscordClientOptions = {}): DiscordClient {
  const retry = options.retry ?? {};
  const tries = Math.max(1, retry.tries ?? 3);
  const maxRetryAfterMs = retry.maxRetryAfterMs ?? 60_000;
  const { api, version } = discordApiBase(options.apiUrl);
  const rest = new REST({
    api,
    ...(version ? { version } : {}),
    retries: tries - 1,
    timeout: retry.timeoutMs ?? 15_000,
    // A wait longer than this fails the call as retryable instead of holding a worker.
    rejectOnRateLimit: (limit) => limit.retryAfter > maxRetryAfterMs,
    makeRequest: (url, init) => fetchWithBodyRetryAfter(url, init as RequestInit),
  });
  const versioned = version !== undefined;

  return {
    request(what, method, route, data = {}) {
      // Without a token the request goes out without Authorization, and Discord answers 401.
      const call = { ...data, versioned, ...(options.botToken ? {} : { auth: false }) };
      // Connection failures (refused, reset, DNS) are what the client does not retry itself.
      return withRetries(
        what,
        async () => {
          try {
            // The client forgets its token after a 401; set it again so the next call says 401 too.
            if (options.botToken) rest.setToken(options.botToken);
            return { ok: true as const, value: await rest[method](route, call) };
          } catch (error) {
            const failure = discordFailure(what, error, tries);
            if (failure) throw failure;
            return { ok: false as const, retry: true, reason: 'network error' };
          }
        },
        { ...retry, tries },
      );
    },
  };
}
