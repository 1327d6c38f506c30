/**
 * The one way Deckhand calls Slack's Web API: @slack/web-api's WebClient, configured from Deckhand's
 * options (SLACK_API_URL, RetryOptions, the pino logger) and shared per bot token, so a 429's pause
 * holds every call for that workspace. WebClient retries 429s (waiting Retry-After), 5xx answers and
 * network failures; Deckhand adds one thing it leaves out: Slack's transient `{ok: false}` answers
 * (`ratelimited`, `internal_error`, ...) are tried again. Every failure ends as a DeckhandError that
 * names the method, never the token (the token only ever travels in the Authorization header).
 */
import {
  type WebAPICallResult,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { LRUCache } from 'lru-cache';
import {
  type Attempt,
  DEFAULT_TRIES,
  DeckhandError,
  globalFetch,
  isRetryableStatus,
  type RetryOptions,
  redactText,
  type SinkLogger,
  SLACK_API_URL,
  withRetries,
} from '../../core/index.js';
import { slackSdkLogger } from './sdk-logger.js';

export { SLACK_API_URL };

/** `error` values of `{ok: false}` answers that are worth another try. */
const RETRYABLE_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

export interface SlackClientOptions {
  /** Web API base, default https://slack.com/api (SLACK_API_URL; tests point it at a loopback stand-in). */
  apiUrl?: string | undefined;
  /** tries -> WebClient retries, baseDelayMs -> its first backoff, timeoutMs -> its request timeout. */
  retry?: RetryOptions | undefined;
  logger?: SinkLogger | undefined;
}

/** WebClients by bot token (and timeout), made on first use. */
export interface SlackClients {
  forToken(token: string, limits?: { timeoutMs?: number | undefined }): WebClient;
  readonly retry: RetryOptions;
}

/** The API base as WebClient joins it: exactly one trailing slash (`…/api/` + `chat.postMessage`). */
export function slackApiBase(apiUrl?: string): string {
  return `${(apiUrl || SLACK_API_URL).replace(/\/+$/, '')}/`;
}

type RetryConfig = NonNullable<WebClientOptions['retryConfig']>;

/** RetryOptions as WebClient's retry policy (node-retry options plus p-retry's onFailedAttempt). */
export function slackRetryConfig(retry: RetryOptions = {}): RetryConfig {
  const config: RetryConfig & { onFailedAttempt: (error: Error) => void } = {
    retries: Math.max(1, retry.tries ?? DEFAULT_TRIES) - 1,
    factor: 2,
    minTimeout: retry.baseDelayMs ?? 500,
    maxTimeout: 60_000,
    randomize: false,
    // A 4xx other than 429 will not get better: stop at once (p-retry rethrows what this throws).
    onFailedAttempt: (error) => {
      if (error instanceof WebAPIHTTPError && !isRetryableStatus(error.statusCode)) throw error;
    },
  };
  return config;
}

export function createSlackClients(options: SlackClientOptions = {}): SlackClients {
  const retry = options.retry ?? {};
  const slackApiUrl = slackApiBase(options.apiUrl);
  // Its debug lines (whole request bodies) are dropped; the rate-limit notice (info) is debug.
  const logger = slackSdkLogger(options.logger ?? {}, 'Slack Web API', {
    debug: undefined,
    info: 'debug',
    warn: 'warn',
    error: 'warn',
  });
  const retryConfig = slackRetryConfig(retry);
  const clients = new LRUCache<string, WebClient>({ max: 500 });
  return {
    retry,
    forToken(token, limits = {}) {
      const timeout = Math.min(retry.timeoutMs ?? 15_000, limits.timeoutMs ?? Number.POSITIVE_INFINITY);
      const key = `${timeout}\n${token}`;
      let client = clients.get(key);
      if (!client) {
        client = new WebClient(token || undefined, {
          slackApiUrl,
          logger,
          retryConfig,
          timeout,
          rejectRateLimitedCalls: false,
          // Method names only: nothing a request carries can aim the client (and its token) elsewhere.
          allowAbsoluteUrls: false,
          // Looked up per request, so a test's interceptor installed later still sees the call.
          fetch: globalFetch,
        });
        clients.set(key, client);
      }
      return client;
    },
  };
}

function triesOf(error: unknown, fallback: number): number {
  const attempt = (error as { attemptNumber?: unknown }).attemptNumber;
  return typeof attempt === 'number' && attempt > 0 ? attempt : fallback;
}

function upstream(what: string, reason: string, retryable: boolean, cause: unknown): DeckhandError {
  const message = retryable
    ? `${what} failed: ${reason}. Try again in a minute.`
    : `${what} failed: ${reason}.`;
  return new DeckhandError('UPSTREAM_FAILED', redactText(message), { retryable, cause });
}

/** What WebClient threw once its own retries were spent, as our retry loop's verdict. */
function verdictOf<T>(
  what: string,
  error: unknown,
  tries: number,
  accept: (data: WebAPICallResult & { error: string }) => T | undefined,
): Attempt<T> {
  if (error instanceof WebAPIPlatformError) {
    const accepted = accept(error.data);
    if (accepted !== undefined) return { ok: true, value: accepted };
    const code = error.data.error;
    const retryAfter = error.data.response_metadata?.retryAfter;
    return {
      ok: false,
      retry: RETRYABLE_ERRORS.has(code),
      reason: code,
      retryAfterMs: typeof retryAfter === 'number' ? retryAfter * 1000 : undefined,
    };
  }
  const gaveUp = `(gave up after ${triesOf(error, tries)} tries)`;
  if (error instanceof WebAPIHTTPError) {
    const retryable = isRetryableStatus(error.statusCode);
    const reason = `HTTP ${error.statusCode}${retryable ? ` ${gaveUp}` : ''}`;
    throw upstream(what, reason, retryable, error);
  }
  if (error instanceof WebAPIRequestError) {
    const timedOut = error.original.name === 'TimeoutError' || error.original.name === 'AbortError';
    throw upstream(what, `${timedOut ? 'the request timed out' : 'network error'} ${gaveUp}`, true, error);
  }
  if (error instanceof Error && error.message.startsWith('A rate limit was exceeded')) {
    throw upstream(what, `rate limited (HTTP 429) ${gaveUp}`, true, error);
  }
  if (error instanceof DeckhandError) throw error;
  throw upstream(what, 'unexpected failure', true, error);
}

/**
 * Runs one WebClient request (`what` names it in errors, e.g. "Slack chat.postMessage") until it
 * succeeds, fails for good, or a transient `{ok: false}` answer was tried `retry.tries` times.
 * `accept` turns an `{ok: false}` answer that means the goal is reached into a result.
 */
export async function slackRequest<T>(
  what: string,
  run: () => Promise<T>,
  retry: RetryOptions = {},
  accept: (data: WebAPICallResult & { error: string }) => T | undefined = () => undefined,
): Promise<T> {
  const tries = Math.max(1, retry.tries ?? DEFAULT_TRIES);
  return withRetries<T>(
    what,
    async () => {
      try {
        return { ok: true, value: await run() };
      } catch (error) {
        return verdictOf(what, error, tries, accept);
      }
    },
    retry,
  );
}

/** One Web API method; `accept` lists `{ok: false}` errors that mean the goal is reached (`already_reacted`). */
export function callSlack(
  client: WebClient,
  method: string,
  args: Record<string, unknown>,
  options: { retry?: RetryOptions | undefined; accept?: readonly string[] } = {},
): Promise<WebAPICallResult> {
  const accept = options.accept ?? [];
  return slackRequest(
    `Slack ${method}`,
    () => client.apiCall(method, args),
    options.retry,
    (data) => (accept.includes(data.error) ? data : undefined),
  );
}
