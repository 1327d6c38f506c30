/**
 * Discord application REST calls made outside a reply: registering the slash commands
 * (`deckhand discord register-commands`), answering a gateway interaction with a deferred response,
 * and reading the application's flags to tell whether the privileged Message Content intent is on.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationFlags,
  InteractionContextType,
  type RESTPostAPIApplicationCommandsJSONBody,
  type RESTPutAPIApplicationCommandsJSONBody,
  Routes,
} from 'discord-api-types/v10';
import { z } from 'zod';
import { DeckhandError, type RetryOptions } from '../../core/index.js';
import { createDiscordClient } from './rest.js';

/** Application flags: the Message Content intent, approved (verified apps) or limited (< 100 servers). */
export const GATEWAY_MESSAGE_CONTENT = ApplicationFlags.GatewayMessageContent;
export const GATEWAY_MESSAGE_CONTENT_LIMITED = ApplicationFlags.GatewayMessageContentLimited;

export interface DiscordRestOptions {
  apiUrl?: string | undefined;
  retry?: RetryOptions;
}

/** Parses a successful answer; a shape Discord would not send is not worth retrying. */
function answer<T>(what: string, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  throw new DeckhandError('UPSTREAM_FAILED', `${what} failed: unexpected response shape.`, {
    retryable: false,
  });
}

/** The commands Deckhand registers: `/deckhand text:…` and the message menu "Ask Deckhand". */
export function deckhandCommandDefinitions(commandName: string): RESTPostAPIApplicationCommandsJSONBody[] {
  // Usable in servers, in DMs with the bot, and in private channels where the app is installed.
  const contexts = [
    InteractionContextType.Guild,
    InteractionContextType.BotDM,
    InteractionContextType.PrivateChannel,
  ];
  return [
    {
      name: commandName,
      type: ApplicationCommandType.ChatInput,
      description: 'Ask Deckhand, or run a command: help, status, run python …, cancel',
      options: [
        {
          type: ApplicationCommandOptionType.String,
          name: 'text',
          description: 'What to ask or do',
          required: false,
          max_length: 6000,
        },
      ],
      contexts,
    },
    { name: 'Ask Deckhand', type: ApplicationCommandType.Message, contexts },
  ];
}

export interface RegisterCommandsInput extends DiscordRestOptions {
  applicationId: string;
  botToken: string;
  commandName: string;
  /** Register in one server (instant) instead of globally (may take up to an hour to show). */
  guildId?: string | undefined;
}

/** PUT replaces the whole command list, so running it twice changes nothing. */
export async function registerDiscordCommands(input: RegisterCommandsInput): Promise<string[]> {
  if (!/^\d+$/.test(input.applicationId)) {
    throw new DeckhandError('CONFIG_INVALID', 'DISCORD_APPLICATION_ID must be the numeric Application ID.');
  }
  const what = 'Discord command registration';
  const route = input.guildId
    ? Routes.applicationGuildCommands(input.applicationId, input.guildId)
    : Routes.applicationCommands(input.applicationId);
  const body: RESTPutAPIApplicationCommandsJSONBody = deckhandCommandDefinitions(input.commandName);
  const client = createDiscordClient({ apiUrl: input.apiUrl, botToken: input.botToken, retry: input.retry });
  const registered = answer(
    what,
    z.array(z.object({ id: z.string(), name: z.string() })),
    await client.request(what, 'put', route, { body }),
  );
  return registered.map((command) => command.name);
}

/** Answers an interaction that came over the gateway (the HTTP route answers in its response). */
export async function respondToInteraction(
  interaction: { id: string; token: string },
  body: unknown,
  options: DiscordRestOptions = {},
): Promise<void> {
  // The interaction token authorises the callback; the bot token is not sent.
  await createDiscordClient(options).request(
    'Discord interaction response',
    'post',
    Routes.interactionCallback(interaction.id, interaction.token),
    { auth: false, body },
  );
}

/** Whether the application may receive message content through the gateway. */
export async function messageContentIntent(
  botToken: string,
  options: DiscordRestOptions = {},
): Promise<'enabled' | 'disabled'> {
  const what = 'Discord application lookup';
  const client = createDiscordClient({
    apiUrl: options.apiUrl,
    botToken,
    retry: { tries: 1, ...options.retry },
  });
  const app = answer(
    what,
    z.object({ flags: z.number().int().default(0) }),
    await client.request(what, 'get', Routes.currentApplication()),
  );
  return app.flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED) ? 'enabled' : 'disabled';
}
