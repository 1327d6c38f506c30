/**
 * Turns a verified Discord interaction into a ParseOutcome: PING -> PONG, application commands
 * (`/deckhand …`) and message components (buttons, selects) -> events. Call verifyDiscordSignature first.
 * https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import { InteractionResponseType, MessageFlags } from 'discord-api-types/v10';
import { z } from 'zod';
import type { ParseOutcome } from '../../core/index.js';
import {
  assertBodySize,
  eventOutcome,
  ignore,
  ingressError,
  NO_WORKSPACE_ID,
  parseJson,
  parseWith,
  respond,
} from '../../core/index.js';
import { type AdmissionPolicy, admissionRefusal, OPEN_ADMISSION } from '../admission.js';

export const DiscordInteractionType = {
  PING: 1,
  APPLICATION_COMMAND: 2,
  MESSAGE_COMPONENT: 3,
  APPLICATION_COMMAND_AUTOCOMPLETE: 4,
  MODAL_SUBMIT: 5,
} as const;

const OPTION_SUB_COMMAND = 1;
const OPTION_SUB_COMMAND_GROUP = 2;
const OPTION_USER = 6;
/** Channel types that are threads: announcement, public and private threads. */
const THREAD_CHANNEL_TYPES = new Set([10, 11, 12]);

interface DiscordOption {
  name: string;
  type: number;
  value?: string | number | boolean | undefined;
  options?: DiscordOption[] | undefined;
}

const optionSchema: z.ZodType<DiscordOption> = z.lazy(() =>
  z.object({
    name: z.string(),
    type: z.number().int(),
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
    options: z.array(optionSchema).optional(),
  }),
);

const userSchema = z.object({
  id: z.string().min(1),
  username: z.string().optional(),
  global_name: z.string().nullable().optional(),
});

const interactionSchema = z.object({
  id: z.string().min(1),
  application_id: z.string().min(1),
  type: z.number().int(),
  token: z.string().min(1),
  guild_id: z.string().optional(),
  channel_id: z.string().optional(),
  channel: z
    .object({
      id: z.string(),
      type: z.number().int().optional(),
      parent_id: z.string().nullable().optional(),
    })
    .optional(),
  member: z.object({ user: userSchema }).optional(),
  user: userSchema.optional(),
  message: z.object({ id: z.string() }).optional(),
  data: z.unknown(),
});
type Interaction = z.infer<typeof interactionSchema>;

const commandDataSchema = z.object({
  name: z.string().min(1),
  /** 1 chat input (slash), 2 user context menu, 3 message context menu. */
  type: z.number().int().default(1),
  options: z.array(optionSchema).optional(),
  target_id: z.string().optional(),
  resolved: z
    .object({ messages: z.record(z.string(), z.object({ content: z.string().optional() })).optional() })
    .optional(),
});

const componentDataSchema = z.object({
  custom_id: z.string().min(1),
  component_type: z.number().int(),
  values: z.array(z.string()).optional(),
});

/** Renders `value` for args: bare unless it holds whitespace or quotes. */
function quoted(value: string): string {
  return /[\s"']/.test(value) ? JSON.stringify(value) : value;
}

/**
 * Options -> the free-text args a Slack `/deckhand …` would carry: sub-command names first, then
 * each option; an option named `text` is passed verbatim, others as `name=value`.
 */
export function renderDiscordOptions(options: DiscordOption[] | undefined): {
  args: string;
  mentions: string[];
} {
  const words: string[] = [];
  const mentions: string[] = [];
  const walk = (list: DiscordOption[] | undefined): void => {
    for (const option of list ?? []) {
      if (option.type === OPTION_SUB_COMMAND || option.type === OPTION_SUB_COMMAND_GROUP) {
        words.push(option.name);
        walk(option.options);
      } else if (option.value !== undefined) {
        const value = String(option.value);
        if (option.type === OPTION_USER && !mentions.includes(value)) mentions.push(value);
        words.push(option.name === 'text' ? value : `${option.name}=${quoted(value)}`);
      }
    }
  };
  walk(options);
  return { args: words.join(' ').trim(), mentions };
}

/** Strips `<@applicationId>` (a bot's user id is its application id) and collects other user mentions. */
function stripDiscordMentions(text: string, botId: string, mentions: string[]): string {
  const cleaned = text.replace(/<@!?(\d+)>/g, (whole, id: string) => {
    if (id === botId) return ' ';
    if (!mentions.includes(id)) mentions.push(id);
    return whole;
  });
  return cleaned.replace(/[ \t]{2,}/g, ' ').trim();
}

/** custom_id prefix of Deckhand's buttons: the rest is the command the button stands for. */
export const DISCORD_ACTION_PREFIX = 'dh:';

export interface DiscordInteractionOptions {
  now?: Date;
  policy?: AdmissionPolicy;
}

export function parseDiscordInteraction(
  rawBody: Buffer,
  options: DiscordInteractionOptions = {},
): ParseOutcome {
  assertBodySize(rawBody);
  const body = parseJson(rawBody.toString('utf8'), 'Discord interaction');
  const { type } = parseWith(z.object({ type: z.number().int() }), body, 'Discord interaction');
  if (type === DiscordInteractionType.PING) return respond(200, { type: InteractionResponseType.Pong });
  if (
    type !== DiscordInteractionType.APPLICATION_COMMAND &&
    type !== DiscordInteractionType.MESSAGE_COMPONENT
  ) {
    return ignore(`Discord interaction type ${type} is not handled`);
  }

  const interaction = parseWith(interactionSchema, body, 'Discord interaction');
  const user = interaction.member?.user ?? interaction.user;
  if (!user) throw ingressError(400, 'Discord interaction names no user.');
  const channelId = interaction.channel_id ?? interaction.channel?.id;
  if (!channelId) throw ingressError(400, 'Discord interaction names no channel.');
  const inThread = THREAD_CHANNEL_TYPES.has(interaction.channel?.type ?? -1);
  const refusal = admissionRefusal(
    { channelId, userId: user.id },
    options.policy ?? OPEN_ADMISSION,
    interaction.channel?.parent_id ?? undefined,
  );
  // The user waits on an interaction: answer it ephemerally instead of leaving "interaction failed".
  if (refusal)
    return respond(200, {
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: 'Deckhand does not answer here.', flags: MessageFlags.Ephemeral },
    });

  const common = {
    platform: 'discord' as const,
    workspaceId: interaction.guild_id ?? NO_WORKSPACE_ID,
    channelId,
    userId: user.id,
    userName: user.global_name ?? user.username,
    deliveryKey: interaction.id,
  };
  const replyTo = {
    interactionToken: interaction.token,
    applicationId: interaction.application_id,
    interactionId: interaction.id,
    channel: channelId,
  };

  if (type === DiscordInteractionType.APPLICATION_COMMAND) {
    return parseCommand(interaction, common, replyTo, inThread ? channelId : '', options.now);
  }

  const data = parseWith(componentDataSchema, interaction.data, 'Discord component data');
  const picked = (data.values ?? []).join(' ');
  const text = data.custom_id.startsWith(DISCORD_ACTION_PREFIX)
    ? `${data.custom_id.slice(DISCORD_ACTION_PREFIX.length)} ${picked}`.trim()
    : picked;
  const messageId = interaction.message?.id;
  return eventOutcome(
    {
      ...common,
      threadId: inThread ? channelId : (messageId ?? ''),
      text,
      command: { name: data.custom_id, args: text },
      eventType: 'message_component',
      replyTo: { ...replyTo, messageId },
    },
    options.now,
  );
}

function parseCommand(
  interaction: Interaction,
  common: {
    platform: 'discord';
    workspaceId: string;
    channelId: string;
    userId: string;
    userName: string | undefined;
    deliveryKey: string;
  },
  replyTo: Record<string, string>,
  threadId: string,
  now: Date | undefined,
): ParseOutcome {
  const data = parseWith(commandDataSchema, interaction.data, 'Discord command data');
  const rendered = renderDiscordOptions(data.options);
  let args = stripDiscordMentions(rendered.args, interaction.application_id, rendered.mentions);
  if (data.type === 3 && data.target_id) {
    // Message context-menu command: the target message is what the user is asking about.
    const target = data.resolved?.messages?.[data.target_id]?.content ?? '';
    args = stripDiscordMentions(target, interaction.application_id, rendered.mentions);
  }
  return eventOutcome(
    {
      ...common,
      threadId,
      text: args,
      mentions: rendered.mentions,
      command: { name: data.name, args },
      eventType: 'application_command',
      replyTo: { ...replyTo, targetId: data.target_id },
    },
    now,
  );
}
