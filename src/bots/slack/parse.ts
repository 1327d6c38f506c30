/**
 * Turns a verified Slack request into a ParseOutcome: Events API JSON (url_verification,
 * app_mention, DM messages), slash commands and block_actions (both form-encoded).
 * Call verifySlackSignature first; this only checks shape.
 */
import { z } from 'zod';
import type { ParseOutcome } from '../../core/index.js';
import {
  assertBodySize,
  eventOutcome,
  headerOf,
  ignore,
  ingressError,
  mediaTypeOf,
  parseJson,
  parseWith,
  respond,
} from '../../core/index.js';
import { type AdmissionPolicy, admissionRefusal, OPEN_ADMISSION } from '../admission.js';

export interface SlackRequest {
  rawBody: Buffer;
  contentType: string;
  headers: Record<string, string | undefined>;
  /** The bot's own user id (`U…`). Without it, the id Slack lists in `authorizations` is used. */
  botUserId?: string;
  /** Receive time (tests). */
  now?: Date;
  /** Allow-lists and whether other bots are answered (config `slack`); default: everyone, no bots. */
  policy?: AdmissionPolicy;
}

/** eventType of a plain message inside a thread: the ingress keeps it only if Deckhand is in that thread. */
export const SLACK_THREAD_REPLY = 'thread_reply';

const envelopeTypeSchema = z.object({ type: z.string() });

const urlVerificationSchema = z.object({ type: z.literal('url_verification'), challenge: z.string() });

const slackEventSchema = z.object({
  type: z.string(),
  subtype: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  app_id: z.string().optional(),
  username: z.string().optional(),
  text: z.string().optional(),
  ts: z.string().optional(),
  thread_ts: z.string().optional(),
  channel: z.string().optional(),
  channel_type: z.string().optional(),
});

const eventCallbackSchema = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().min(1),
  api_app_id: z.string().optional(),
  event_id: z.string().min(1),
  event: slackEventSchema,
  authorizations: z.array(z.object({ user_id: z.string(), is_bot: z.boolean().optional() })).optional(),
});

const slashCommandSchema = z.object({
  command: z.string().startsWith('/'),
  text: z.string().default(''),
  response_url: z.string().min(1),
  trigger_id: z.string().min(1),
  user_id: z.string().min(1),
  user_name: z.string().optional(),
  team_id: z.string().min(1),
  channel_id: z.string().min(1),
  api_app_id: z.string().optional(),
});

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  team: z.object({ id: z.string() }).nullable().optional(),
  user: z.object({
    id: z.string().min(1),
    username: z.string().optional(),
    name: z.string().optional(),
    team_id: z.string().optional(),
  }),
  channel: z.object({ id: z.string() }).optional(),
  container: z
    .object({
      channel_id: z.string().optional(),
      message_ts: z.string().optional(),
      thread_ts: z.string().optional(),
    })
    .optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string(),
        action_ts: z.string().optional(),
        value: z.string().optional(),
        selected_option: z.object({ value: z.string() }).nullable().optional(),
      }),
    )
    .min(1),
});

/** Message subtypes that are still a person writing to us; every other subtype is an edit, join, bot post… */
const USER_MESSAGE_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

const MENTION = /<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g;

/** Strips the bot's mention (and the leading one when the bot id is unknown), collects the others. */
export function stripSlackMentions(
  text: string,
  botUserId: string | undefined,
  options: { stripLeading?: boolean } = {},
): { text: string; mentions: string[] } {
  let body = text;
  if (!botUserId && options.stripLeading) {
    body = body.replace(/^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*/, '');
  }
  const mentions: string[] = [];
  body = body.replace(MENTION, (whole, id: string) => {
    if (id === botUserId) return ' ';
    if (!mentions.includes(id)) mentions.push(id);
    return whole;
  });
  const cleaned = body
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[\s,:]+/, '')
    .trim()
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return { text: cleaned, mentions };
}

export function parseSlackRequest(request: SlackRequest): ParseOutcome {
  const { rawBody } = request;
  assertBodySize(rawBody);
  const mediaType = mediaTypeOf(request.contentType || headerOf(request.headers, 'content-type'));
  const text = rawBody.toString('utf8');
  if (mediaType === 'application/json') {
    return parseEventsApi(parseJson(text, 'Slack request body'), request);
  }
  if (mediaType === 'application/x-www-form-urlencoded') {
    return parseForm(new URLSearchParams(text), request);
  }
  throw ingressError(400, `Unsupported Slack content type "${mediaType || '(none)'}".`);
}

function parseEventsApi(body: unknown, request: SlackRequest): ParseOutcome {
  const { type } = parseWith(envelopeTypeSchema, body, 'Slack request body');
  if (type === 'url_verification') {
    const { challenge } = parseWith(urlVerificationSchema, body, 'Slack url_verification');
    return respond(200, { challenge });
  }
  if (type !== 'event_callback') return ignore(`Slack envelope type ${type} is not handled`);

  const envelope = parseWith(eventCallbackSchema, body, 'Slack event_callback');
  const { event } = envelope;
  const botUserId = request.botUserId ?? envelope.authorizations?.find((a) => a.is_bot)?.user_id;

  if (event.type !== 'app_mention' && event.type !== 'message') {
    return ignore(`Slack event ${event.type} is not handled`);
  }
  const policy = request.policy ?? OPEN_ADMISSION;
  // Our own posts come back as events too: never answer them, whatever the policy says.
  const own =
    (botUserId !== undefined && event.user === botUserId) ||
    (event.app_id !== undefined && event.app_id === envelope.api_app_id);
  if (own) return ignore("the bot's own message");
  const fromBot = Boolean(event.bot_id) || event.subtype === 'bot_message';
  if (fromBot && !policy.allowBots) return ignore('message from a bot');
  if (event.subtype && event.subtype !== 'bot_message' && !USER_MESSAGE_SUBTYPES.has(event.subtype)) {
    return ignore(`Slack message subtype ${event.subtype} is not handled`);
  }
  const userId = event.user ?? (fromBot ? event.bot_id : undefined);
  if (!userId) return ignore('Slack event without a user');
  let eventType = event.type;
  if (event.type === 'message' && event.channel_type !== 'im') {
    const mentionsBot = botUserId !== undefined && (event.text ?? '').includes(`<@${botUserId}`);
    if (!event.thread_ts || event.thread_ts === event.ts) {
      return ignore('channel message without a mention (mentions arrive as app_mention)');
    }
    // A mention inside a thread arrives twice (app_mention and message): the app_mention answers it.
    if (mentionsBot) return ignore('thread message that mentions the bot (answered as app_mention)');
    eventType = SLACK_THREAD_REPLY;
  }
  if (!event.channel || !event.ts) {
    throw ingressError(400, `Slack ${event.type} event has no channel or ts.`);
  }
  const refusal = admissionRefusal({ channelId: event.channel, userId }, policy);
  if (refusal) return ignore(refusal);

  const stripped = stripSlackMentions(event.text ?? '', botUserId, {
    stripLeading: event.type === 'app_mention',
  });
  const threadId = event.thread_ts ?? event.ts;
  return eventOutcome(
    {
      platform: 'slack',
      workspaceId: envelope.team_id,
      channelId: event.channel,
      threadId,
      userId,
      userName: event.username,
      text: stripped.text,
      mentions: stripped.mentions,
      deliveryKey: envelope.event_id,
      eventType,
      // messageTs is the message itself: status reactions go there, replies to the thread root.
      replyTo: { channel: event.channel, threadTs: threadId, messageTs: event.ts, botUserId },
    },
    request.now,
  );
}

function parseForm(form: URLSearchParams, request: SlackRequest): ParseOutcome {
  if (form.get('ssl_check') === '1') return respond(200, '');
  const payload = form.get('payload');
  if (payload !== null) return parseInteraction(parseJson(payload, 'Slack interaction payload'), request);
  if (form.has('command')) return parseSlashCommand(Object.fromEntries(form), request);
  throw ingressError(400, 'Slack form body is neither a slash command nor an interaction payload.');
}

function parseSlashCommand(fields: Record<string, string>, request: SlackRequest): ParseOutcome {
  const command = parseWith(slashCommandSchema, fields, 'Slack slash command');
  const refusal = admissionRefusal(
    { channelId: command.channel_id, userId: command.user_id },
    request.policy ?? OPEN_ADMISSION,
  );
  // The person typed a command and waits for an answer: say why nothing will happen.
  if (refusal) {
    return respond(200, { response_type: 'ephemeral', text: 'Deckhand does not answer here.' });
  }
  const stripped = stripSlackMentions(command.text, request.botUserId);
  return eventOutcome(
    {
      platform: 'slack',
      workspaceId: command.team_id,
      channelId: command.channel_id,
      // A slash command is not posted as a message, so it has no thread of its own.
      threadId: '',
      userId: command.user_id,
      userName: command.user_name,
      text: stripped.text,
      mentions: stripped.mentions,
      command: { name: command.command.slice(1), args: stripped.text },
      deliveryKey: command.trigger_id,
      eventType: 'slash_command',
      replyTo: { responseUrl: command.response_url, channel: command.channel_id },
    },
    request.now,
  );
}

function parseInteraction(payload: unknown, request: SlackRequest): ParseOutcome {
  const { type } = parseWith(envelopeTypeSchema, payload, 'Slack interaction payload');
  if (type !== 'block_actions') return ignore(`Slack interaction ${type} is not handled`);

  const interaction = parseWith(blockActionsSchema, payload, 'Slack block_actions payload');
  const action = interaction.actions[0]!;
  const channelId = interaction.channel?.id ?? interaction.container?.channel_id;
  if (!channelId) return ignore('block action outside a channel (Home tab or modal)');
  const deliveryKey = interaction.trigger_id ?? action.action_ts;
  if (!deliveryKey) throw ingressError(400, 'Slack block_actions payload has no trigger_id or action_ts.');
  const workspaceId = interaction.team?.id ?? interaction.user.team_id;
  if (!workspaceId) throw ingressError(400, 'Slack block_actions payload names no team.');

  const refusal = admissionRefusal(
    { channelId, userId: interaction.user.id },
    request.policy ?? OPEN_ADMISSION,
  );
  if (refusal) return ignore(refusal);
  // A Deckhand button carries the command it stands for as its value (`cancel`, `confirm <id>`).
  const value = action.value ?? action.selected_option?.value ?? '';
  const threadId =
    interaction.message?.thread_ts ??
    interaction.container?.thread_ts ??
    interaction.message?.ts ??
    interaction.container?.message_ts ??
    '';
  return eventOutcome(
    {
      platform: 'slack',
      workspaceId,
      channelId,
      threadId,
      userId: interaction.user.id,
      userName: interaction.user.username ?? interaction.user.name,
      text: value,
      command: { name: action.action_id, args: value },
      deliveryKey,
      eventType: 'block_actions',
      replyTo: {
        responseUrl: interaction.response_url,
        channel: channelId,
        threadTs: threadId,
        messageTs: interaction.message?.ts ?? interaction.container?.message_ts,
      },
    },
    request.now,
  );
}
