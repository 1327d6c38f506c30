/**
 * Markdown (what the router and the models write) -> Slack mrkdwn and Block Kit.
 * Slack's dialect differs: `*bold*` (one star), `_italic_`, `~strike~`, `<url|label>` links, no
 * headings, no language tag on code fences, and `&`, `<`, `>` must be escaped everywhere except in
 * Slack's own `<@U…>`, `<#C…>`, `<!date…>` and `<https://…>` tokens. Broadcasts (`<!here>`,
 * `<!channel>`, `<!everyone>`, `<!subteam^…>` group pings, plain `@here`) never go out live: the text
 * comes from models, digests and code runs, none of which may page a whole channel.
 */
import type { ReplyAction } from '../reply.js';

/** Slack's limit for one section block's text. */
export const SLACK_SECTION_MAX = 3000;
/** A message longer than this is split into several (Slack advises at most 4,000 characters). */
export const SLACK_MESSAGE_MAX = 3900;

const SLACK_TOKEN = /<(?:[@#!][^<>\s]*|(?:https?|mailto):[^<>\s]*)>/g;

/** `<!here>`, `<!channel|channel>`, `<!everyone>`, `<!group>` (the old name of `<!channel>`). */
const SLACK_BROADCAST = /<!(here|channel|everyone|group)(?:\|[^<>]*)?>/gi;
/** A user-group ping: `<!subteam^S0123>` or `<!subteam^S0123|@oncall>`. */
const SLACK_GROUP_PING = /<!subteam\^[^<>|]*(?:\|@?([^<>]*))?>/gi;
/** Plain words Slack links into broadcasts when a message is parsed in full (`link_names`). */
const SLACK_PLAIN_BROADCAST = /(^|[^\w@])@(here|channel|everyone)\b/gi;
const ZERO_WIDTH_SPACE = '\u200B';

/**
 * Makes every broadcast in finished mrkdwn inert: `<!here>` shows as `@here` with a zero-width space
 * after the `@`, which Slack neither links nor notifies; a group ping shows its handle the same way.
 */
export function neutralizeSlackBroadcasts(mrkdwn: string): string {
  return mrkdwn
    .replace(SLACK_BROADCAST, (_whole, name: string) => `@${ZERO_WIDTH_SPACE}${name.toLowerCase()}`)
    .replace(
      SLACK_GROUP_PING,
      (_whole, handle: string | undefined) => `@${ZERO_WIDTH_SPACE}${handle || 'group'}`,
    )
    .replace(
      SLACK_PLAIN_BROADCAST,
      (_whole, before: string, name: string) => `${before}@${ZERO_WIDTH_SPACE}${name}`,
    );
}

/** Escapes &, < and > outside Slack's own tokens; leaves existing entities alone. */
export function escapeSlackText(text: string): string {
  const out: string[] = [];
  let last = 0;
  const escapePart = (part: string) =>
    part
      .replace(/&(?!(?:amp|lt|gt);)/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;');
  for (const match of text.matchAll(SLACK_TOKEN)) {
    out.push(escapePart(text.slice(last, match.index)), match[0]);
    last = match.index + match[0].length;
  }
  out.push(escapePart(text.slice(last)));
  return out.join('');
}

/** Inline markdown of one line of prose (no code) -> mrkdwn. */
function inline(line: string): string {
  const codeSpans: string[] = [];
  // Inline code is kept verbatim (escaped only); park it so the rules below cannot touch it.
  let text = line.replace(/`[^`\n]+`/g, (span) => {
    codeSpans.push(escapeSlackText(span));
    return `\uE000${codeSpans.length - 1}\uE000`;
  });
  const links: string[] = [];
  text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_whole, label: string, url: string) => {
    const safeUrl = url.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
    links.push(`<${safeUrl}|${escapeSlackText(label).replace(/\|/g, '¦')}>`);
    return `\uE001${links.length - 1}\uE001`;
  });
  text = escapeSlackText(text)
    .replace(/\*\*([^*\n]+)\*\*/g, '*$1*')
    .replace(/__([^_\n]+)__/g, '*$1*')
    .replace(/~~([^~\n]+)~~/g, '~$1~');
  return text
    .replace(/\uE001(\d+)\uE001/g, (_w, i: string) => links[Number(i)] ?? '')
    .replace(/\uE000(\d+)\uE000/g, (_w, i: string) => codeSpans[Number(i)] ?? '');
}

/**
 * Converts markdown to Slack mrkdwn. Code blocks keep their content, minus the language tag. Every
 * reply the Slack sink sends passes through here, so broadcasts are neutralised here, last.
 */
export function markdownToMrkdwn(markdown: string): string {
  const out: string[] = [];
  let inCode = false;
  for (const line of markdown.split('\n')) {
    const fence = /^(\s*)```[A-Za-z0-9_+-]*\s*$/.exec(line);
    if (fence) {
      out.push(`${fence[1] ?? ''}\`\`\``);
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      out.push(escapeSlackText(line));
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      out.push(`*${inline(heading[1] ?? '').replace(/^\*(.*)\*$/, '$1')}*`);
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
    if (bullet) {
      out.push(`${bullet[1] ?? ''}• ${inline(bullet[2] ?? '')}`);
      continue;
    }
    out.push(inline(line));
  }
  return neutralizeSlackBroadcasts(out.join('\n'));
}

/** Block Kit for one message: its text in sections (3,000 characters each) and buttons under it. */
export function slackBlocks(mrkdwn: string, actions: ReplyAction[]): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  let rest = mrkdwn;
  while (rest.length > 0 && blocks.length < 45) {
    let cut = rest.length <= SLACK_SECTION_MAX ? rest.length : rest.lastIndexOf('\n', SLACK_SECTION_MAX);
    if (cut <= 0) cut = SLACK_SECTION_MAX;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: rest.slice(0, cut) } });
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (actions.length > 0) {
    blocks.push({
      type: 'actions',
      elements: actions.slice(0, 25).map((action, index) => ({
        type: 'button',
        // action_id must be unique within the message; the value is what the pipeline receives.
        action_id: `deckhand:${index}:${action.command.split(/\s+/)[0] ?? 'action'}`.slice(0, 255),
        text: { type: 'plain_text', text: action.label.slice(0, 75), emoji: true },
        value: action.command.slice(0, 2000),
        ...(action.style ? { style: action.style } : {}),
      })),
    });
  }
  return blocks;
}
