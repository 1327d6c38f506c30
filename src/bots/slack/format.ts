/**
 * Markdown (what the router and the models write) -> Slack mrkdwn and Block Kit. The conversion
 * itself walks a markdown syntax tree (markdown.ts); this file holds what every Slack text needs.
 * Slack's dialect differs: `*bold*` (one star), `_italic_`, `~strike~`, `<url|label>` links, no
 * headings, no language tag on code fences, and `&`, `<`, `>` must be escaped everywhere except in
 * Slack's own `<@U…>`, `<#C…>`, `<!date…>` and `<https://…>` tokens. Broadcasts (`<!here>`,
 * `<!channel>`, `<!everyone>`, `<!subteam^…>` group pings, plain `@here`) never go out live: the text
 * comes from models, digests and code runs, none of which may page a whole channel.
 */
import type { ReplyAction } from '../../core/index.js';
import { renderMrkdwn, SLACK_TOKEN } from './markdown.js';

/** Slack's limit for one section block's text. */
export const SLACK_SECTION_MAX = 3000;
/** A message longer than this is split into several (Slack advises at most 4,000 characters). */
export const SLACK_MESSAGE_MAX = 3900;

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

/**
 * Markdown past this many characters is converted on the tree only up to a line break near here,
 * the rest escaped as plain text. Parsing costs far more than the old regexes, and the sink converts
 * the whole text of every streamed edit; text this long goes out as a file with a short preview.
 */
export const MARKDOWN_TREE_MAX = 20_000;

/**
 * Converts markdown to Slack mrkdwn on its syntax tree (markdown.ts): `**b**` -> `*b*`, `*i*` ->
 * `_i_`, `***bi***` -> `*_bi_*`, `~~s~~` -> `~s~`, links -> `<url|label>`, headings -> bold lines,
 * lists -> `•`/`1.` lines; code keeps its content (escaped), minus the language tag. Every reply the
 * Slack sink sends passes through here, so broadcasts are neutralised here, last.
 */
export function markdownToMrkdwn(markdown: string): string {
  let head = markdown;
  let tail = '';
  if (markdown.length > MARKDOWN_TREE_MAX) {
    const cut = markdown.lastIndexOf('\n', MARKDOWN_TREE_MAX);
    head = markdown.slice(0, cut > 0 ? cut : MARKDOWN_TREE_MAX);
    tail = markdown.slice(head.length);
  }
  let mrkdwn: string;
  try {
    mrkdwn = renderMrkdwn(head);
  } catch {
    // The parser takes any text; should it ever throw, a reply still goes out, as escaped plain text.
    mrkdwn = escapeSlackText(head);
  }
  return neutralizeSlackBroadcasts(mrkdwn + escapeSlackText(tail));
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
