/**
 * A small Slack Web API client over fetch (so nock stands in for slack.com in tests): JSON or form
 * bodies, the bot token in the Authorization header only, retries on 429 / 5xx / `ratelimited` with
 * Retry-After honoured. Slack answers most failures with HTTP 200 and `{ok: false, error}`; those
 * count as failures too.
 */
import { z } from 'zod';
import {
  type Attempt,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  SLACK_API_URL,
  sendJson,
  withRetries,
} from '../../core/index.js';

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

export const slackAnswerSchema = z
  .object({
    ok: z.boolean(),
    error: z.string().optional(),
    ts: z.string().optional(),
    upload_url: z.string().optional(),
    file_id: z.string().optional(),
  })
  .passthrough();
export type SlackAnswer = z.infer<typeof slackAnswerSchema>;

/** The bot token: fixed (SLACK_BOT_TOKEN) or looked up per call (multi-workspace installs). */
export type SlackTokenSource = string | (() => Promise<string>);

export interface SlackApiOptions {
  token: SlackTokenSource;
  apiUrl?: string;
  retry?: RetryOptions;
}

export interface SlackCall {
  /** `already_reacted` and the like: answers that mean the goal is reached. */
  accept?: string[];
  /** Some methods (files.*) only take form bodies. */
  form?: boolean;
}

export type SlackApi = (
  method: string,
  body: Record<string, unknown>,
  call?: SlackCall,
) => Promise<SlackAnswer>;

export function createSlackApi(options: SlackApiOptions): SlackApi {
  const apiUrl = (options.apiUrl ?? SLACK_API_URL).replace(/\/+$/, '');
  const retry = options.retry ?? {};
  // A lookup runs once per client (one reply's life); a failed one is tried again next call.
  let cached: Promise<string> | undefined;
  const token = async () => {
    if (typeof options.token === 'string') return options.token;
    cached ??= options.token().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
  return async (method, body, call = {}) => {
    const bearer = await token();
    return withRetries<SlackAnswer>(
      `Slack ${method}`,
      async () => {
        // No token (oauth.v2.access authenticates with the client credentials in the body): no header.
        const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
        const response = call.form
          ? await sendForm(`${apiUrl}/${method}`, headers, body, retry.timeoutMs)
          : await sendJson(`${apiUrl}/${method}`, {
              method: 'POST',
              headers,
              body,
              timeoutMs: retry.timeoutMs,
            });
        return slackVerdict(response.status, response.headers, response.body, call.accept ?? []);
      },
      retry,
    );
  };
}

async function sendForm(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    form.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // not JSON: the verdict reports an unexpected shape
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Slack's answer -> success, retry (429, 5xx, ratelimited…) or a permanent failure. */
export function slackVerdict(
  status: number,
  headers: Headers,
  body: unknown,
  accept: string[],
): Attempt<SlackAnswer> {
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  if (status === 429) return { ok: false, retry: true, reason: 'rate limited (HTTP 429)', retryAfterMs };
  if (status < 200 || status >= 300) {
    const error = slackAnswerSchema.safeParse(body).data?.error;
    const reason = `HTTP ${status}${error ? ` (${error})` : ''}`;
    return { ok: false, retry: isRetryableStatus(status), reason, retryAfterMs };
  }
  const parsed = slackAnswerSchema.safeParse(body);
  if (!parsed.success) return { ok: false, retry: false, reason: 'unexpected response shape' };
  const answer = parsed.data;
  if (answer.ok || (answer.error && accept.includes(answer.error))) return { ok: true, value: answer };
  const error = answer.error ?? 'unknown_error';
  return { ok: false, retry: RETRYABLE_ERRORS.has(error), reason: error, retryAfterMs };
}
