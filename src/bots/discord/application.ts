/**
 * Discord application REST calls made outside a reply: registering the slash commands
 * (`deckhand discord register-commands`), answering a gateway interaction with a deferred response,
 * and reading the application's flags to tell whether the privileged Message Content intent is on.
 */
import { z } from 'zod';
import { DeckhandError, type RetryOptions, sendJson, withRetries } from '../../core/index.js';
import { DISCORD_API_URL } from './sink.js';

/** Application flags: the Message Content intent, approved (verified apps) or limited (< 100 servers). */
export const GATEWAY_MESSAGE_CONTENT = 1 << 18;
export const GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19;

export interface DiscordRestOptions {
  apiUrl?: string | undefined;
  retry?: RetryOptions;
}

const base = (options: DiscordRestOptions) => (options.apiUrl || DISCORD_API_URL).replace(/\/+$/, '');

async function discordCall<T>(
  what: string,
  url: string,
  init: { method: string; body?: unknown; botToken?: string | undefined },
  schema: z.ZodType<T>,
  retry: RetryOptions = {},
): Promise<T> {
  return withRetries(
    what,
    async () => {
      const response = await sendJson(url, {
        method: init.method,
        headers: init.botToken ? { authorization: `Bot ${init.botToken}` } : {},
        body: init.body,
        timeoutMs: retry.timeoutMs,
      });
      if (response.status >= 200 && response.status < 300) {
        const parsed = schema.safeParse(response.body ?? {});
        if (parsed.success) return { ok: true as const, value: parsed.data };
        return { ok: false as const, retry: false, reason: 'unexpected response shape' };
      }
      const detail = z.object({ message: z.string() }).safeParse(response.body).data?.message;
      const wait = z.object({ retry_after: z.number() }).safeParse(response.body).data?.retry_after;
      return {
        ok: false as const,
        retry: response.status === 429 || response.status >= 500,
        reason: `HTTP ${response.status}${detail ? ` (${detail})` : ''}`,
        retryAfterMs: wait === undefined ? undefined : Math.ceil(wait * 1000),
      };
    },
    retry,
  );
}

/** The commands Deckhand registers: `/deckhand text:…` and the message menu "Ask Deckhand". */
export function deckhandCommandDefinitions(commandName: string): Record<string, unknown>[] {
  return [
    {
      name: commandName,
      type: 1,
      description: 'Ask Deckhand, or run a command: help, status, run python …, cancel',
      options: [
        { type: 3, name: 'text', description: 'What to ask or do', required: false, max_length: 6000 },
      ],
      // Usable in servers, in DMs with the bot, and in private channels where the app is installed.
      contexts: [0, 1, 2],
    },
    { name: 'Ask Deckhand', type: 3, contexts: [0, 1, 2] },
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
  const scope = input.guildId ? `/guilds/${encodeURIComponent(input.guildId)}` : '';
  const url = `${base(input)}/applications/${input.applicationId}${scope}/commands`;
  const registered = await discordCall(
    'Discord command registration',
    url,
    { method: 'PUT', body: deckhandCommandDefinitions(input.commandName), botToken: input.botToken },
    z.array(z.object({ id: z.string(), name: z.string() })),
    input.retry,
  );
  return registered.map((command) => command.name);
}

/** Answers an interaction that came over the gateway (the HTTP route answers in its response). */
export async function respondToInteraction(
  interaction: { id: string; token: string },
  body: unknown,
  options: DiscordRestOptions = {},
): Promise<void> {
  const url = `${base(options)}/interactions/${encodeURIComponent(interaction.id)}/${encodeURIComponent(interaction.token)}/callback`;
  await discordCall(
    'Discord interaction response',
    url,
    { method: 'POST', body },
    z.unknown(),
    options.retry,
  );
}

/** Whether the application may receive message content through the gateway. */
export async function messageContentIntent(
  botToken: string,
  options: DiscordRestOptions = {},
): Promise<'enabled' | 'disabled'> {
  const app = await discordCall(
    'Discord application lookup',
    `${base(options)}/applications/@me`,
    { method: 'GET', botToken },
    z.object({ flags: z.number().int().default(0) }),
    { tries: 1, ...options.retry },
  );
  return app.flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED) ? 'enabled' : 'disabled';
}
