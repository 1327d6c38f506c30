/**
 * `deckhand discord register-commands [--guild ID]`: registers `/deckhand` and the message menu
 * command "Ask Deckhand" for the application (PUT /applications/{id}/commands, idempotent).
 * Global commands can take up to an hour to appear; `--guild` registers in one server at once.
 */
import { parseArgs } from 'node:util';
import { registerDiscordCommands } from '../bots/index.js';
import { type Config, DeckhandError, loadConfig, requireSecret } from '../core/index.js';
import { DISCORD_USAGE } from './usage.js';

export { DISCORD_USAGE };

export async function discordCommand(
  args: string[],
  options: { config?: Config; env?: Record<string, string | undefined>; out?: (line: string) => void } = {},
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'register-commands') {
    throw new DeckhandError(
      'BAD_REQUEST',
      `deckhand discord: unknown command "${sub ?? ''}".\n${DISCORD_USAGE}`,
    );
  }
  const { values } = parseArgs({ args: rest, options: { guild: { type: 'string' } } });
  const config = options.config ?? loadConfig();
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (values.guild !== undefined && !/^\d+$/.test(values.guild)) {
    throw new DeckhandError('BAD_REQUEST', `--guild must be a numeric server id, not "${values.guild}".`);
  }
  const names = await registerDiscordCommands({
    applicationId: requireSecret(config, 'DISCORD_APPLICATION_ID', 'Registering Discord commands'),
    botToken: requireSecret(config, 'DISCORD_BOT_TOKEN', 'Registering Discord commands'),
    commandName: config.discord.commandName,
    guildId: values.guild,
    apiUrl: env.DISCORD_API_URL,
  });
  const where = values.guild ? `in server ${values.guild}` : 'globally (may take up to an hour to show)';
  out(`Registered ${names.map((name) => `"${name}"`).join(', ')} ${where}.`);
  return 0;
}
