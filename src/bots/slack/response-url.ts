/**
 * Replies on a slash command's or button's response_url through @slack/webhook's IncomingWebhook
 * (JSON body, no redirects followed). The URL comes from the request body, so it is called only on
 * an allowed origin (Slack's hooks host; SLACK_RESPONSE_URL_ORIGINS in tests) and with no
 * Authorization header: the URL itself is the credential. 429s and 5xx are retried by the shared
 * loop, honouring Retry-After.
 */
import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import { z } from 'zod';
import {
  type Attempt,
  fetchWithBodyRetryAfter,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  withRetries,
} from '../../core/index.js';

/** Where Slack's response_url points: its hooks host, over HTTPS. */
export const SLACK_RESPONSE_URL_ORIGINS: readonly string[] = ['https://hooks.slack.com'];

/** Whether `url` is on one of `origins` (scheme, host and port compared, as URL.origin gives them). */
export function isAllowedResponseUrl(
  url: string,
  origins: readonly string[] = SLACK_RESPONSE_URL_ORIGINS,
): boolean {
  try {
    return origins.includes(new URL(url).origin);
  } catch {
    return false;
  }
}

/** The origin of a refused URL, for the log (never the path: it holds the credential). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

const answerSchema = z.object({ ok: z.boolean(), error: z.string().optional() }).passthrough();

function verdict(status: number, retryAfter: string | null, text: string): Attempt<undefined> {
  const retryAfterMs = parseRetryAfter(retryAfter);
  if (status === 429) return { ok: false, retry: true, reason: 'rate limited (HTTP 429)', retryAfterMs };
  let answer: z.infer<typeof answerSchema> | undefined;
  try {
    answer = answerSchema.safeParse(JSON.parse(text)).data;
  } catch {
    answer = undefined; // a bare "ok" (not JSON)
  }
  if (status < 200 || status >= 300) {
    const reason = `HTTP ${status}${answer?.error ? ` (${answer.error})` : ''}`;
    return { ok: false, retry: isRetryableStatus(status), reason, retryAfterMs };
  }
  // A bare "ok" is success; a JSON answer may still say why it failed.
  if (!answer || answer.ok) return { ok: true, value: undefined };
  return { ok: false, retry: false, reason: answer.error ?? 'unknown_error' };
}

/** POSTs one JSON message to an (already allowed) response_url, retrying 429 / 5xx / network failures. */
export async function postToResponseUrl(
  url: string,
  body: Record<string, unknown>,
  retry: RetryOptions = {},
): Promise<void> {
  let retryAfter: string | null = null;
  const webhook = new IncomingWebhook(url, {
    timeout: retry.timeoutMs ?? 15_000,
    retryConfig: { retries: 0 }, // the shared loop retries, with Retry-After
    fetch: async (input, init) => {
      const response = await fetchWithBodyRetryAfter(String(input), init ?? {});
      retryAfter = response.headers.get('retry-after');
      return response;
    },
  });
  await withRetries(
    'Slack response_url reply',
    async () => {
      try {
        const { text } = await webhook.send(body);
        return verdict(200, null, text);
      } catch (error) {
        if (error instanceof IncomingWebhookHTTPError)
          return verdict(error.statusCode, retryAfter, error.body);
        return { ok: false, retry: true, reason: 'network error' };
      }
    },
    retry,
  );
}
