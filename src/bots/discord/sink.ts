/**
 * Discord replies. Interactions (slash commands, buttons) were answered with a deferred response, so
 * the first post edits that response (`@original`), later posts are follow-ups, and edits go to the
 * message id. Events without an interaction token (messages through the gateway) are answered in the
 * channel with the bot token, as a reply to the triggering message, with reactions for status.
 * Text over 2,000 characters becomes several messages; edits of one message are throttled.
 * Interaction tokens are part of the URL: they never appear in errors or logs. Calls go through
 * @discordjs/rest (rest.ts): its rate-limit buckets, 429 waits and 5xx retries.
 */
import { Routes } from 'discord-api-types/v10';
import { z } from 'zod';
import type { NormalizedEvent, PostedReply, ReplyOptions, ReplySink, ReplyStatus } from '../../core/index.js';
import {
  createEditThrottle,
  DeckhandError,
  DISCORD_API_URL,
  type RetryOptions,
  type SinkLogger,
} from '../../core/index.js';
import { type DiscordPayload, renderDiscordReply } from './render.js';
import { createDiscordClient, type DiscordMethod } from './rest.js';

export { DISCORD_MAX_CONTENT } from './render.js';
export { DISCORD_API_URL };
/** Kept for callers that truncate themselves; the sink splits instead. */
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
  /** Least time between two edits of one message (default 1000 ms). */
  editIntervalMs?: number;
  /** Clock for the edit throttle (tests). */
  now?: () => number;
}

const REACTIONS: Record<ReplyStatus, string> = { working: '👀', done: '✅', failed: '❌' };

/** `@everyone` and `@here` as words (not inside an address such as a@everyone.example). */
const DISCORD_BROADCAST = /(^|[^\w@])@(everyone|here)\b/gi;

/**
 * Every payload already carries `allowed_mentions: { parse: [] }` (render.ts), which is what stops
 * Discord pinging anyone, roles included. The text is made inert as well, with a zero-width space
 * after the `@`, so a reply quoted or forwarded elsewhere cannot become a broadcast either.
 */
export function neutralizeDiscordBroadcasts(text: string): string {
  return text.replace(DISCORD_BROADCAST, (_whole, before: string, name: string) => `${before}@\u200B${name}`);
}

const messageSchema = z.object({ id: z.string().min(1) });

/** How a reply's messages are created, edited and removed: interaction webhook or channel. */
interface Transport {
  /** The first message of the first reply (the deferred response, for interactions). */
  first(payload: DiscordPayload): Promise<string>;
  next(payload: DiscordPayload): Promise<string>;
  edit(id: string, payload: DiscordPayload): Promise<void>;
  remove(id: string): Promise<void>;
}

export function createDiscordSink(event: NormalizedEvent, options: DiscordSinkOptions): ReplySink {
  const { replyTo } = event;
  const retry = options.retry ?? {};
  const throttle = createEditThrottle({
    intervalMs: options.editIntervalMs ?? 1000,
    ...(options.now ? { now: options.now } : {}),
    ...(retry.sleep ? { sleep: retry.sleep } : {}),
  });

  const client = createDiscordClient({ apiUrl: options.apiUrl, botToken: options.botToken, retry });

  /** One REST call; `auth` false for interaction webhooks, which the interaction token authorises. */
  async function call<T>(
    what: string,
    method: DiscordMethod,
    route: `/${string}`,
    body: DiscordPayload | undefined,
    read: (body: unknown) => T,
    auth: boolean,
  ): Promise<T> {
    return read(await client.request(what, method, route, { auth, ...(body ? { body } : {}) }));
  }

  const messageId = (body: unknown): string => {
    const parsed = messageSchema.safeParse(body);
    if (!parsed.success) {
      throw new DeckhandError('UPSTREAM_FAILED', 'Discord answered without a message id.');
    }
    return parsed.data.id;
  };
  const nothing = () => undefined;

  let transport: Transport;
  let status: (status: ReplyStatus) => Promise<void>;
  const interactionToken = replyTo.interactionToken;
  const applicationId = replyTo.applicationId ?? options.applicationId;
  if (interactionToken && applicationId) {
    // Routes percent-encodes its arguments; `@original` is kept literal, as Discord documents it.
    const webhook = Routes.webhook(applicationId, interactionToken) as `/${string}`;
    const original: `/${string}` = `${webhook}/messages/@original`;
    let originalId: string | undefined;
    const target = (id: string) =>
      id === originalId || id === '@original'
        ? original
        : Routes.webhookMessage(applicationId, interactionToken, id);
    transport = {
      async first(payload) {
        const id = await call(
          'Discord edit of the deferred response',
          'patch',
          original,
          payload,
          (body) => messageSchema.safeParse(body).data?.id ?? '@original',
          false,
        );
        originalId = id;
        return id;
      },
      next: (payload) => call('Discord follow-up message', 'post', webhook, payload, messageId, false),
      edit: (id, payload) => call('Discord message edit', 'patch', target(id), payload, nothing, false),
      remove: (id) => call('Discord message delete', 'delete', target(id), undefined, nothing, false),
    };
    // The deferred "thinking…" response already shows the user something is happening.
    status = async () => {};
  } else {
    if (!options.botToken) {
      throw new DeckhandError(
        'CONFIG_MISSING',
        'Replying to a Discord message outside an interaction needs DISCORD_BOT_TOKEN.',
      );
    }
    const channel = replyTo.channel ?? event.channelId;
    const original = replyTo.messageId;
    const message = (id: string) => Routes.channelMessage(channel, id);
    const post = (payload: DiscordPayload) =>
      call('Discord channel message', 'post', Routes.channelMessages(channel), payload, messageId, true);
    transport = {
      // The first message answers the one that asked, so the conversation reads as a reply.
      first: (payload) =>
        post(
          original
            ? { ...payload, message_reference: { message_id: original, fail_if_not_exists: false } }
            : payload,
        ),
      next: post,
      edit: (id, payload) => call('Discord message edit', 'patch', message(id), payload, nothing, true),
      remove: (id) => call('Discord message delete', 'delete', message(id), undefined, nothing, true),
    };
    status = async (next: ReplyStatus) => {
      if (!original) return;
      const reaction = (emoji: string) => Routes.channelMessageOwnReaction(channel, original, emoji);
      await call('Discord reaction', 'put', reaction(REACTIONS[next]), undefined, nothing, true);
      if (next === 'working') return;
      try {
        await call(
          'Discord reaction removal',
          'delete',
          reaction(REACTIONS.working),
          undefined,
          nothing,
          true,
        );
      } catch (error) {
        options.logger?.warn(
          { err: error, channel: event.channelId },
          'could not remove the Discord working reaction',
        );
      }
    };
  }

  /** Every message a reply occupies, first one first. */
  const parts = new Map<string, string[]>();
  let posted = 0;

  return {
    async post(text: string, more?: ReplyOptions): Promise<PostedReply> {
      const ids: string[] = [];
      for (const payload of renderDiscordReply(neutralizeDiscordBroadcasts(text), more?.actions)) {
        ids.push(
          posted === 0 && ids.length === 0 ? await transport.first(payload) : await transport.next(payload),
        );
      }
      posted += 1;
      const id = ids[0] ?? '';
      parts.set(id, ids);
      throttle.posted(id);
      return { id };
    },

    async update(reply: PostedReply, text: string, more?: ReplyOptions): Promise<void> {
      await throttle.edit(reply.id, async () => {
        const payloads = renderDiscordReply(neutralizeDiscordBroadcasts(text), more?.actions, { edit: true });
        const existing = parts.get(reply.id) ?? [reply.id];
        const next: string[] = [];
        for (const [index, payload] of payloads.entries()) {
          const id = existing[index];
          if (id) {
            await transport.edit(id, payload);
            next.push(id);
          } else {
            next.push(await transport.next(payload));
          }
        }
        for (const id of existing.slice(payloads.length)) await transport.remove(id);
        parts.set(reply.id, next);
      });
    },

    status: (next: ReplyStatus) => status(next),

    adopt(reply: PostedReply): void {
      posted += 1; // the next post is a follow-up, not the deferred response
      if (!parts.has(reply.id)) parts.set(reply.id, [reply.id]);
    },
  };
}
