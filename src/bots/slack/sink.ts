/**
 * Slack replies through the Web API: chat.postMessage into the event's thread, chat.update for edits,
 * and reactions on the original message for status (👀 working, ✅ done, ❌ failed).
 * Slash commands have no thread, so their replies go to the command's response_url.
 * Slack answers most failures with HTTP 200 and `{ok: false, error}`; those count as failures too.
 */
import { z } from 'zod';
import { DeckhandError } from '../../core/errors.js';
import type { NormalizedEvent } from '../events.js';
import type { PostedReply, ReplySink, ReplyStatus } from '../reply.js';
import {
  type Attempt,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  type SinkLogger,
  sendJson,
  truncateText,
  withRetries,
} from '../sink-http.js';

export const SLACK_API_URL = 'https://slack.com/api';
/** Slack truncates message text at 40,000 characters; stay below it with a visible marker. */
export const SLACK_MAX_TEXT = 39_000;

export interface SlackSinkOptions {
  /** xoxb- token (SLACK_BOT_TOKEN). Only ever sent in the Authorization header. */
  botToken: string;
  /** Web API base, default https://slack.com/api (SLACK_API_URL overrides it in tests). */
  apiUrl?: string;
  retry?: RetryOptions;
  logger?: SinkLogger;
  /** Who sees response_url replies: the channel (default) or only the user who ran the command. */
  responseType?: 'in_channel' | 'ephemeral';
}

const REACTIONS: Record<ReplyStatus, string> = {
  working: 'eyes',
  done: 'white_check_mark',
  failed: 'x',
};

/** `error` values of `{ok: false}` answers that are worth another try. */
const RETRYABLE_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

const apiResponseSchema = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  ts: z.string().optional(),
});
type ApiResponse = z.infer<typeof apiResponseSchema>;

/** Reply ids of messages posted through response_url (Slack returns no ts for those). */
const RESPONSE_URL_ID = 'response_url:';

export function createSlackSink(event: NormalizedEvent, options: SlackSinkOptions): ReplySink {
  const apiUrl = (options.apiUrl ?? SLACK_API_URL).replace(/\/+$/, '');
  const { replyTo } = event;
  const channel = replyTo.channel ?? event.channelId;
  const threadTs = event.threadId || undefined;
  const responseUrl = !threadTs ? replyTo.responseUrl : undefined;
  /** The message status reactions go on: the clicked message, else the mention (or its thread root). */
  const reactionTs = replyTo.messageTs || replyTo.threadTs || undefined;
  let responseCount = 0;

  const retryOptions = options.retry ?? {};
  const timeoutMs = retryOptions.timeoutMs;

  async function callApi(method: string, body: Record<string, unknown>, accept: string[] = []) {
    return withRetries<ApiResponse>(
      `Slack ${method}`,
      async () => {
        const response = await sendJson(`${apiUrl}/${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.botToken}` },
          body,
          timeoutMs,
        });
        return verdict(response.status, response.headers, response.body, accept);
      },
      retryOptions,
    );
  }

  async function callResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
    await withRetries<ApiResponse>(
      'Slack response_url reply',
      async () => {
        // No Authorization header: the URL itself is the credential.
        const response = await sendJson(url, { method: 'POST', body, timeoutMs });
        const parsed = apiResponseSchema.safeParse(response.body);
        const answer = parsed.success ? response.body : { ok: response.status < 300 };
        return verdict(response.status, response.headers, answer, []);
      },
      retryOptions,
    );
  }

  return {
    async post(text: string): Promise<PostedReply> {
      const body = truncateText(text, SLACK_MAX_TEXT);
      if (responseUrl) {
        await callResponseUrl(responseUrl, {
          text: body,
          response_type: options.responseType ?? 'in_channel',
          replace_original: false,
        });
        responseCount += 1;
        return { id: `${RESPONSE_URL_ID}${responseCount}` };
      }
      const answer = await callApi('chat.postMessage', {
        channel,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        text: body,
        mrkdwn: true,
      });
      if (!answer.ts) {
        throw new DeckhandError('UPSTREAM_FAILED', 'Slack chat.postMessage answered without a message ts.');
      }
      return { id: answer.ts };
    },

    async update(reply: PostedReply, text: string): Promise<void> {
      const body = truncateText(text, SLACK_MAX_TEXT);
      if (reply.id.startsWith(RESPONSE_URL_ID)) {
        if (!responseUrl) return;
        await callResponseUrl(responseUrl, { text: body, replace_original: true });
        return;
      }
      await callApi('chat.update', { channel, ts: reply.id, text: body });
    },

    async status(status: ReplyStatus): Promise<void> {
      if (!reactionTs) {
        options.logger?.debug({ channel, status }, 'Slack event has no message to react on; status skipped');
        return;
      }
      await callApi('reactions.add', { channel, timestamp: reactionTs, name: REACTIONS[status] }, [
        'already_reacted',
      ]);
      if (status === 'working') return;
      try {
        await callApi('reactions.remove', { channel, timestamp: reactionTs, name: REACTIONS.working }, [
          'no_reaction',
        ]);
      } catch (error) {
        // The final reaction is on; a leftover 👀 is cosmetic.
        options.logger?.warn({ err: error, channel }, 'could not remove the Slack working reaction');
      }
    },
  };
}

/** Slack's answer -> success, retry (429, 5xx, ratelimited…) or a permanent failure. */
function verdict(status: number, headers: Headers, body: unknown, accept: string[]): Attempt<ApiResponse> {
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  if (status === 429) return { ok: false, retry: true, reason: 'rate limited (HTTP 429)', retryAfterMs };
  if (status < 200 || status >= 300) {
    const error = apiResponseSchema.safeParse(body).data?.error;
    const reason = `HTTP ${status}${error ? ` (${error})` : ''}`;
    return { ok: false, retry: isRetryableStatus(status), reason, retryAfterMs };
  }
  const parsed = apiResponseSchema.safeParse(body);
  if (!parsed.success) return { ok: false, retry: false, reason: 'unexpected response shape' };
  const answer = parsed.data;
  if (answer.ok || (answer.error && accept.includes(answer.error))) return { ok: true, value: answer };
  const error = answer.error ?? 'unknown_error';
  return { ok: false, retry: RETRYABLE_ERRORS.has(error), reason: error, retryAfterMs };
}
