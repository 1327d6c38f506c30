/**
 * Reply text -> Discord message payloads: content split at 2,000 characters (code blocks closed and
 * reopened across parts), a code-run result as one embed (title, output, green or red), buttons as
 * components whose custom_id carries the command. Model output never pings anyone.
 */
import { ButtonStyle, ComponentType } from 'discord-api-types/v10';
import type { ReplyAction } from '../../core/index.js';
import { splitMessage } from '../../core/index.js';
import { DISCORD_ACTION_PREFIX } from './parse.js';

export const DISCORD_MAX_CONTENT = 2000;
export const DISCORD_MAX_EMBED_DESCRIPTION = 4096;
const GREEN = 0x2eb67d;
const RED = 0xe01e5a;

/** Model output must not ping @everyone, roles or users. */
export const NO_MENTIONS = { parse: [] as string[], replied_user: false };

export type DiscordPayload = Record<string, unknown>;

/** The router's run summary: "`python` exited 0 in 120 ms (flags)". */
const RUN_HEAD = /^`([\w+-]+)` exited (\S+) in (\d+) ms(.*)$/;

function resultEmbed(text: string): Record<string, unknown> | undefined {
  const newline = text.indexOf('\n');
  const head = newline < 0 ? text : text.slice(0, newline);
  const match = RUN_HEAD.exec(head);
  if (!match) return undefined;
  const body = newline < 0 ? '' : text.slice(newline + 1);
  if (body.length > DISCORD_MAX_EMBED_DESCRIPTION) return undefined;
  const [, lang = '', exit = '?', ms = '0', rest = ''] = match;
  return {
    title: `${lang} exited ${exit} in ${ms} ms${rest.replace(/,? no output$/, '')}`.slice(0, 256),
    description: body || '(no output)',
    color: exit === '0' ? GREEN : RED,
  };
}

function components(actions: ReplyAction[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const buttons = actions.slice(0, 25).map((action) => ({
    type: ComponentType.Button,
    style:
      action.style === 'danger'
        ? ButtonStyle.Danger
        : action.style === 'primary'
          ? ButtonStyle.Primary
          : ButtonStyle.Secondary,
    label: action.label.slice(0, 80),
    custom_id: `${DISCORD_ACTION_PREFIX}${action.command}`.slice(0, 100),
  }));
  for (let i = 0; i < buttons.length; i += 5)
    rows.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + 5) });
  return rows;
}

/**
 * The messages a reply needs, in order. An edit sets content, embeds and components, so a change
 * from one form to the other leaves nothing of the old one behind.
 */
export function renderDiscordReply(
  text: string,
  actions: ReplyAction[] = [],
  options: { edit?: boolean } = {},
): DiscordPayload[] {
  const shown = text || '(no output)';
  const embed = resultEmbed(shown);
  const texts = embed ? [''] : splitMessage(shown, DISCORD_MAX_CONTENT);
  return texts.map((content, index) => {
    const last = index === texts.length - 1;
    const embeds = embed ? [embed] : [];
    const rows = last ? components(actions) : [];
    // A new message omits what it does not use; an edit clears it explicitly.
    return {
      content,
      ...(options.edit || embeds.length ? { embeds } : {}),
      ...(options.edit || rows.length ? { components: rows } : {}),
      allowed_mentions: NO_MENTIONS,
    };
  });
}
