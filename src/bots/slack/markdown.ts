/**
 * Markdown -> Slack mrkdwn on a syntax tree. Regexes cannot tell `*italic*` from `**bold**`, see where
 * a link's URL ends when it holds parentheses, or keep markup inside code alone; a CommonMark + GFM
 * parser (micromark, the one remark uses) can, and this file prints its mdast tree in Slack's
 * dialect. Slack's own `<@U…>`, `<#C…>`, `<!…>` and `<https://…>` tokens are parked before parsing
 * (markdown would read them as HTML, autolinks or table cells) and put back as they were, except in
 * link labels and URLs, where they are made inert. Everything else is escaped (`&`, `<`, `>`).
 * Broadcasts are not handled here: format.ts neutralises them on the finished text.
 */
import type {
  Definition,
  Heading,
  Link,
  List,
  Nodes,
  Parents,
  PhrasingContent,
  RootContent,
  Table,
} from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';

/** Slack's own tokens: mentions, channels, `<!…>` specials (dates, broadcasts) and links. */
export const SLACK_TOKEN = /<(?:[@#!][^<>\s]*|(?:https?|mailto):[^<>\s]*)>/g;

const PARK_OPEN = '\uE000';
const PARK_CLOSE = '\uE001';
const PARKED = /\uE000(\d+)\uE001/g;
const ZERO_WIDTH_SPACE = '\u200B';
const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;
/** Slack needs a non-word character on each side of `*`, `_` and `~`; a zero-width space is one. */
const WORD_END = /[\p{L}\p{N}]$/u;
const WORD_START = /^[\p{L}\p{N}]/u;

interface Context {
  /** The Slack tokens parked out of the source, by index. */
  tokens: string[];
  /** Link reference definitions, by normalised identifier. */
  definitions: Map<string, Definition>;
}

/** What encloses a phrase: markers already open are not repeated, labels must stay link-free. */
interface Style {
  bold: boolean;
  italic: boolean;
  strike: boolean;
  label: boolean;
}

const PLAIN: Style = { bold: false, italic: false, strike: false, label: false };

/** Escapes all of `&`, `<` and `>`: text from the tree is decoded, so no entity in it is intended. */
function escapeAll(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unpark(text: string, ctx: Context, as: (token: string) => string): string {
  return text.replace(PARKED, (_whole, index: string) => as(ctx.tokens[Number(index)] ?? ''));
}

/** Prose and code: escaped, with Slack's tokens back as they were. */
function escapeText(text: string, ctx: Context): string {
  return unpark(escapeAll(text), ctx, (token) => token);
}

/** A link label ends at `>` and cannot hold a token, so tokens in it show as plain text. */
function escapeLabel(text: string, ctx: Context): string {
  return unpark(escapeAll(text), ctx, escapeAll).replace(/\|/g, '¦');
}

/** A URL inside `<…|…>`: `|`, `<`, `>` and spaces percent-encoded, so nothing in it is a token. */
function encodeUrl(url: string, ctx: Context): string {
  const restored = unpark(url, ctx, (token) =>
    /^<(?:https?|mailto):/i.test(token) ? token.slice(1, -1) : token,
  );
  return restored.replace(/[\s|<>]/g, (char) => encodeURIComponent(char));
}

/** Blank lines between two blocks as the source had them: none or one. */
function gap(before: Nodes, after: Nodes): string {
  const end = before.position?.end.line;
  const start = after.position?.start.line;
  const lines = end !== undefined && start !== undefined ? start - end : 1;
  return lines >= 2 ? '\n\n' : '\n';
}

function blocks(nodes: RootContent[], ctx: Context): string {
  let out = '';
  let previous: RootContent | undefined;
  for (const node of nodes) {
    if (node.type === 'definition') continue;
    out += (previous ? gap(previous, node) : '') + block(node, ctx);
    previous = node;
  }
  return out;
}

/** Lines after the first indented by `pad` (blank lines stay blank), for list items. */
function hang(text: string, pad: string): string {
  return text
    .split('\n')
    .map((line, index) => (index === 0 || line === '' ? line : pad + line))
    .join('\n');
}

function codeBlock(value: string, ctx: Context): string {
  return `\`\`\`\n${escapeText(value, ctx)}\n\`\`\``;
}

function block(node: RootContent, ctx: Context): string {
  switch (node.type) {
    case 'paragraph':
      return phrasing(node.children, ctx, PLAIN);
    case 'heading':
      return heading(node, ctx);
    case 'code':
      return codeBlock(node.value, ctx);
    case 'blockquote':
      return blocks(node.children, ctx)
        .split('\n')
        .map((line) => (line === '' ? '>' : `> ${line}`))
        .join('\n');
    case 'list':
      return list(node, ctx);
    case 'table':
      return table(node, ctx);
    case 'thematicBreak':
      return '──────────';
    case 'footnoteDefinition': {
      const marker = `[${escapeText(node.label ?? node.identifier, ctx)}]`;
      return `${marker} ${hang(blocks(node.children, ctx), '  ')}`;
    }
    case 'html':
      return escapeText(node.value, ctx);
    default:
      return isPhrasing(node) ? phrasing([node], ctx, PLAIN) : fallback(node, ctx);
  }
}

/** A heading is a bold line; bold inside it would only close the bold early. */
function heading(node: Heading, ctx: Context): string {
  const text = phrasing(node.children, ctx, { ...PLAIN, bold: true });
  return text === '' ? '' : `*${text}*`;
}

function list(node: List, ctx: Context): string {
  const start = node.start ?? 1;
  let out = '';
  node.children.forEach((item, index) => {
    const marker = node.ordered ? `${start + index}.` : '•';
    const check = item.checked === true ? '☑ ' : item.checked === false ? '☐ ' : '';
    const body = hang(blocks(item.children, ctx), ' '.repeat(marker.length + 1));
    const previous = node.children[index - 1];
    out += `${previous ? gap(previous, item) : ''}${marker} ${check}${body}`;
  });
  return out;
}

/** Slack has no tables: the cells go into a code block, padded into columns. */
function table(node: Table, ctx: Context): string {
  const rows = node.children.map((row) => row.children.map((cell) => plainText(cell).replace(/\n/g, ' ')));
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const line = (row: string[]) =>
    widths
      .map((width, i) => (row[i] ?? '').padEnd(width))
      .join(' | ')
      .trimEnd();
  const lines = rows.map(line);
  if (lines.length > 1) lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-+-'));
  return codeBlock(lines.join('\n'), ctx);
}

/** The text of a node without its markup (parked tokens stay parked). */
function plainText(node: Nodes): string {
  if (node.type === 'break') return '\n';
  if ('value' in node) return node.value;
  if (node.type === 'image' || node.type === 'imageReference') return node.alt ?? '';
  return 'children' in node ? node.children.map((child: Nodes) => plainText(child)).join('') : '';
}

function fallback(node: Nodes, ctx: Context): string {
  if ('children' in node) return blocks(node.children as RootContent[], ctx);
  return 'value' in node ? escapeText(node.value, ctx) : '';
}

const PHRASING_TYPES = new Set<string>([
  'text',
  'emphasis',
  'strong',
  'delete',
  'inlineCode',
  'break',
  'link',
  'linkReference',
  'image',
  'imageReference',
  'footnoteReference',
  'html',
]);

function isPhrasing(node: RootContent): node is PhrasingContent {
  return PHRASING_TYPES.has(node.type);
}

/** Inline content; a marker touching a letter gets a zero-width space so Slack still reads it. */
function phrasing(nodes: PhrasingContent[], ctx: Context, style: Style): string {
  const parts = nodes.map((node) => inline(node, ctx, style));
  return parts
    .map((part, i) => {
      const type = nodes[i]?.type;
      const marked = (type === 'emphasis' || type === 'strong' || type === 'delete') && /^[*_~]/.test(part);
      if (!marked) return part;
      const before = WORD_END.test(parts[i - 1] ?? '') ? ZERO_WIDTH_SPACE : '';
      const after = WORD_START.test(parts[i + 1] ?? '') ? ZERO_WIDTH_SPACE : '';
      return `${before}${part}${after}`;
    })
    .join('');
}

/** Wraps `inner` in `marker` unless the style already has it open (or the phrase is empty). */
function mark(marker: string, inner: string, open: boolean): string {
  return open || inner === '' ? inner : `${marker}${inner}${marker}`;
}

function inline(node: PhrasingContent, ctx: Context, style: Style): string {
  switch (node.type) {
    case 'text':
    case 'html':
      return style.label ? escapeLabel(node.value, ctx) : escapeText(node.value, ctx);
    case 'inlineCode': {
      const code = style.label ? escapeLabel(node.value, ctx) : escapeText(node.value, ctx);
      return `\`${code}\``;
    }
    case 'break':
      return style.label ? ' ' : '\n';
    case 'emphasis': {
      const only = node.children.length === 1 ? node.children[0] : undefined;
      if (only?.type === 'strong' && !style.bold && !style.italic) {
        // Bold italic: Slack reads `*_x_*`; markdown's `***x***` parses as emphasis around strong.
        const inner = phrasing(only.children, ctx, { ...style, bold: true, italic: true });
        return inner === '' ? '' : `*_${inner}_*`;
      }
      return mark('_', phrasing(node.children, ctx, { ...style, italic: true }), style.italic);
    }
    case 'strong':
      return mark('*', phrasing(node.children, ctx, { ...style, bold: true }), style.bold);
    case 'delete':
      return mark('~', phrasing(node.children, ctx, { ...style, strike: true }), style.strike);
    case 'link':
      return link(node, ctx, style);
    case 'linkReference': {
      const definition = ctx.definitions.get(node.identifier);
      const label = phrasing(node.children, ctx, { ...style, label: true });
      return definition ? slackLink(definition.url, label, ctx, style) : label;
    }
    case 'image':
      return slackLink(node.url, escapeLabel(node.alt ?? '', ctx), ctx, style);
    case 'imageReference': {
      const definition = ctx.definitions.get(node.identifier);
      const label = escapeLabel(node.alt ?? '', ctx);
      return definition ? slackLink(definition.url, label, ctx, style) : label;
    }
    case 'footnoteReference':
      return `[${escapeText(node.label ?? node.identifier, ctx)}]`;
    default:
      return '';
  }
}

function link(node: Link, ctx: Context, style: Style): string {
  const only = node.children.length === 1 ? node.children[0] : undefined;
  if (only?.type === 'text' && (only.value === node.url || node.url === `mailto:${only.value}`)) {
    // A bare URL or address written out (an autolink): no label to repeat. Slack links an e-mail
    // address itself, so that stays text rather than a noisy mailto token.
    const text = style.label ? escapeLabel(only.value, ctx) : escapeText(only.value, ctx);
    return style.label || !/^https?:\/\//i.test(node.url) ? text : `<${encodeUrl(node.url, ctx)}>`;
  }
  return slackLink(node.url, phrasing(node.children, ctx, { ...style, label: true }), ctx, style);
}

/** `<url|label>`; only web and mail links, and none inside another link's label. */
function slackLink(url: string, label: string, ctx: Context, style: Style): string {
  if (style.label || !SAFE_URL.test(url)) return label;
  const safe = encodeUrl(url, ctx);
  return label === '' ? `<${safe}>` : `<${safe}|${label}>`;
}

function collectDefinitions(node: Nodes, into: Map<string, Definition>): void {
  if (node.type === 'definition') {
    if (!into.has(node.identifier)) into.set(node.identifier, node);
    return;
  }
  if ('children' in node) for (const child of (node as Parents).children) collectDefinitions(child, into);
}

/**
 * Markdown -> mrkdwn. HTML is not parsed (Slack shows none, so `<div>` is text to escape); code keeps
 * its content, escaped, without a language tag. Broadcasts in the result are still live.
 */
export function renderMrkdwn(markdown: string): string {
  const tokens: string[] = [];
  const source = markdown.replace(/[\uE000\uE001]/g, '\uFFFD').replace(SLACK_TOKEN, (token) => {
    tokens.push(token);
    return `${PARK_OPEN}${tokens.length - 1}${PARK_CLOSE}`;
  });
  const tree = fromMarkdown(source, {
    extensions: [gfm(), { disable: { null: ['htmlFlow', 'htmlText'] } }],
    mdastExtensions: [gfmFromMarkdown()],
  });
  const ctx: Context = { tokens, definitions: new Map() };
  collectDefinitions(tree, ctx.definitions);
  return blocks(tree.children, ctx);
}
