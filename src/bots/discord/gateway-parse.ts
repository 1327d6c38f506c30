/**
 * Discord gateway MESSAGE_CREATE payloads (the raw JSON `d` of the dispatch) -> ParseOutcome, as a
 * pure function so it is testable without a gateway. Deckhand answers a message when it mentions the
 * bot, replies to one of the bot's messages, is a direct message, or is posted in a thread Deckhand
 * is already in (the last one is marked `thread_reply`: the ingress checks the store for the thread).
 * https://discord.com/developers/docs/resources/message#message-object
 */
import { z } from 'zod';
import type { ParseOutcome } from '../../core/index.js';
import { eventOutcome, ignore, NO_WORKSPACE_ID, parseWith } from '../../core/index.js';
import { type AdmissionPolicy, admissionRefusal, OPEN_ADMISSION } from '../admission.js';

/** eventType of a message in a thread that does not address the bot: kept only if Deckhand is in the thread. */
export const DISCORD_THREAD_REPLY = 'thread_reply';

/** Message types a person writes: DEFAULT and REPLY. Joins, pins, boosts… are not requests. */
const USER_MESSAGE_TYPES = new Set([0, 19]);

const authorSchema = z.object({
  id: z.string().min(1),
  username: z.string().optional(),
  global_name: z.string().nullable().optional(),
  bot: z.boolean().optional(),
});

const messageCreateSchema = z.object({
  id: z.string().min(1),
  channel_id: z.string().min(1),
  guild_id: z.string().optional(),
  type: z.number().int().default(0),
  content: z.string().default(''),
  author: authorSchema,
  webhook_id: z.string().optional(),
  mentions: z.array(z.object({ id: z.string() })).default([]),
  referenced_message: z.object({ id: z.string(), author: authorSchema.optional() }).nullable().optional(),
});

export interface DiscordGatewayContext {
  /** The bot's user id (its application id for bots made in the Developer Portal). */
  botUserId: string;
  /** The channel is a thread (public, private or announcement), per the gateway's channel cache. */
  inThread?: boolean;
  /** The thread's parent channel, so an allow-listed channel admits its threads. */
  parentChannelId?: string;
  policy?: AdmissionPolicy;
  now?: Date;
}

/** `<@id>` and `<@!id>` of the bot -> removed; other user mentions collected. */
function stripMentions(content: string, botUserId: string): { text: string; mentions: string[] } {
  const mentions: string[] = [];
  const text = content
    .replace(/<@!?(\d+)>/g, (whole, id: string) => {
      if (id === botUserId) return ' ';
      if (!mentions.includes(id)) mentions.push(id);
      return whole;
    })
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[\s,:]+/, '')
    .trim();
  return { text, mentions };
}

export function parseDiscordMessage(payload: unknown, context: DiscordGatewayContext): ParseOutcome {
  const message = parseWith(messageCreateSchema, payload, 'Discord MESSAGE_CREATE');
  const { botUserId } = context;
  const policy = context.policy ?? OPEN_ADMISSION;
  if (message.author.id === botUserId) return ignore("the bot's own message");
  const fromBot = Boolean(message.author.bot) || Boolean(message.webhook_id);
  if (fromBot && !policy.allowBots) return ignore('message from a bot');
  if (!USER_MESSAGE_TYPES.has(message.type))
    return ignore(`Discord message type ${message.type} is not handled`);

  const isDm = !message.guild_id;
  const mentionsBot =
    message.mentions.some((user) => user.id === botUserId) ||
    new RegExp(`<@!?${botUserId}>`).test(message.content);
  const repliesToBot = message.referenced_message?.author?.id === botUserId;
  let eventType = isDm ? 'direct_message' : 'mention';
  if (!isDm && !mentionsBot && !repliesToBot) {
    if (!context.inThread) return ignore('channel message that does not address the bot');
    eventType = DISCORD_THREAD_REPLY;
  }
  const refusal = admissionRefusal(
    { channelId: message.channel_id, userId: message.author.id },
    policy,
    context.parentChannelId,
  );
  if (refusal) return ignore(refusal);

  const stripped = stripMentions(message.content, botUserId);
  if (!stripped.text) return ignore('message with no text (is the Message Content intent enabled?)');
  // A thread or a DM is one conversation; in a channel each addressed message starts one.
  const threadId = context.inThread || isDm ? message.channel_id : message.id;
  return eventOutcome(
    {
      platform: 'discord',
      workspaceId: message.guild_id ?? NO_WORKSPACE_ID,
      channelId: message.channel_id,
      threadId,
      userId: message.author.id,
      userName: message.author.global_name ?? message.author.username,
      text: stripped.text,
      mentions: stripped.mentions,
      deliveryKey: message.id,
      eventType,
      replyTo: { channel: message.channel_id, messageId: message.id },
    },
    context.now,
  );
}
