/**
 * Discord replies. Interactions (slash commands, buttons) were answered with a deferred response, so
 * the first post edits that response (`@original`), later posts are follow-ups, and edits go to the
 * message id. Events without an interaction token (mentions through the gateway) are answered in the
 * channel with the bot token, as a reply to the triggering message, with reactions for status.
 * Interaction tokens are part of the URL: they never appear in errors or logs.
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

export const DISCORD_API_URL = 'https://discord.com/api/v10';
export const DISCORD_MAX_CONTENT = 2000;
export const DISCORD_TRUNCATION_MARKER = '\n… (truncated)';

export interface DiscordSinkOptions {
  /** DISCORD_BOT_TOKEN: needed only for events without an interaction token. */
  botToken?: string;
  /** Used when the event does not carry the application id itself (DISCORD_APPLICATION_ID). */
  applicationId?: string;
  /** API base, default https://discord.com/api/v10 (DISCORD_API_URL overrides it in tests). */
  apiUrl?: string;
  retry?: RetryOptions;
  logger?: SinkLogger;
}

const REACTIONS: Record<ReplyStatus, string> = { working: '👀', done: '✅', failed: '❌' };

const messageSchema = z.object({ id: z.string().min(1) });
const errorSchema = z.object({
  message: z.string().optional(),
  code: z.number().optional(),
  retry_after: z.number().optional(),
});

/** Model output must not ping @everyone, roles or users. */
const NO_MENTIONS = { parse: [] as string[], replied_user: false };

function content(text: string): string {
  return truncateText(text || '(no output)', DISCORD_MAX_CONTENT, DISCORD_TRUNCATION_MARKER);
}

export function createDiscordSink(event: NormalizedEvent, options: DiscordSinkOptions): ReplySink {
  const apiUrl = (options.apiUrl ?? DISCORD_API_URL).replace(/\/+$/, '');
  const { replyTo } = event;
  const retry = options.retry ?? {};

  async function call<T>(
    what: string,
    method: string,
    path: string,
    body: Record<string, unknown> | undefined,
    read: (body: unknown) => T,
    auth: boolean,
  ): Promise<T> {
    return withRetries(
      what,
      async (): Promise<Attempt<T>> => {
        const response = await sendJson(`${apiUrl}${path}`, {
          method,
          headers: auth && options.botToken ? { authorization: `Bot ${options.botToken}` } : {},
          body,
          timeoutMs: retry.timeoutMs,
        });
        if (response.status >= 200 && response.status < 300) return { ok: true, value: read(response.body) };
        const error = errorSchema.safeParse(response.body).data;
        const bodyWait = error?.retry_after === undefined ? undefined : Math.ceil(error.retry_after * 1000);
        const detail = error?.message
          ? ` (${error.message}${error.code === undefined ? '' : `, code ${error.code}`})`
          : '';
        return {
          ok: false,
          retry: isRetryableStatus(response.status),
          reason: `HTTP ${response.status}${detail}`,
          retryAfterMs: bodyWait ?? parseRetryAfter(response.headers.get('retry-after')),
        };
      },
      retry,
    );
  }

  const messageId = (body: unknown): string => {
    const parsed = messageSchema.safeParse(body);
    if (!parsed.success) {
      throw new DeckhandError('UPSTREAM_FAILED', 'Discord answered without a message id.');
    }
    return parsed.data.id;
  };

  const interactionToken = replyTo.interactionToken;
  const applicationId = replyTo.applicationId ?? options.applicationId;
  if (interactionToken && applicationId) {
    const webhook = `/webhooks/${encodeURIComponent(applicationId)}/${encodeURIComponent(interactionToken)}`;
    let originalId: string | undefined;
    return {
      async post(text: string): Promise<PostedReply> {
        const payload = { content: content(text), allowed_mentions: NO_MENTIONS };
        if (originalId === undefined) {
          const id = await call(
            'Discord edit of the deferred response',
            'PATCH',
            `${webhook}/messages/@original`,
            payload,
            (body) => messageSchema.safeParse(body).data?.id ?? '@original',
            false,
          );
          originalId = id;
          return { id };
        }
        const id = await call('Discord follow-up message', 'POST', webhook, payload, messageId, false);
        return { id };
      },
      async update(reply: PostedReply, text: string): Promise<void> {
        const target = reply.id === originalId ? '@original' : encodeURIComponent(reply.id);
        await call(
          'Discord message edit',
          'PATCH',
          `${webhook}/messages/${target}`,
          { content: content(text), allowed_mentions: NO_MENTIONS },
          () => undefined,
          false,
        );
      },
      // The deferred "thinking…" response already shows the user something is happening.
      async status(): Promise<void> {},
    };
  }

  if (!options.botToken) {
    throw new DeckhandError(
      'CONFIG_MISSING',
      'Replying to a Discord message outside an interaction needs DISCORD_BOT_TOKEN.',
    );
  }
  const channel = encodeURIComponent(replyTo.channel ?? event.channelId);
  const original = replyTo.messageId;
  const messages = `/channels/${channel}/messages`;
  return {
    async post(text: string): Promise<PostedReply> {
      const payload = {
        content: content(text),
        allowed_mentions: NO_MENTIONS,
        ...(original ? { message_reference: { message_id: original, fail_if_not_exists: false } } : {}),
      };
      const id = await call('Discord channel message', 'POST', messages, payload, messageId, true);
      return { id };
    },
    async update(reply: PostedReply, text: string): Promise<void> {
      await call(
        'Discord message edit',
        'PATCH',
        `${messages}/${encodeURIComponent(reply.id)}`,
        { content: content(text), allowed_mentions: NO_MENTIONS },
        () => undefined,
        true,
      );
    },
    async status(status: ReplyStatus): Promise<void> {
      if (!original) return;
      const reaction = (emoji: string) =>
        `${messages}/${encodeURIComponent(original)}/reactions/${encodeURIComponent(emoji)}/@me`;
      await call('Discord reaction', 'PUT', reaction(REACTIONS[status]), undefined, () => undefined, true);
      if (status === 'working') return;
      try {
        await call(
          'Discord reaction removal',
          'DELETE',
          reaction(REACTIONS.working),
          undefined,
          () => undefined,
          true,
        );
      } catch (error) {
        options.logger?.warn(
          { err: error, channel: event.channelId },
          'could not remove the Discord working reaction',
        );
      }
    },
  };
}
