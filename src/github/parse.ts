/**
 * Turns a verified GitHub webhook delivery into a ParseOutcome. Deckhand acts on comments, reviews and
 * new issues that mention it (`@deckhand`), and on issues assigned to it or given its label; every
 * other delivery is acknowledged and ignored, as is anything a bot (Deckhand included) did.
 * Call verifyGitHubSignature on the raw body first.
 *
 * Event names and payload shapes are @octokit/webhooks' (GitHub's OpenAPI description). The body is
 * still untrusted input, so the fields Deckhand reads are checked with zod; the compiler checks that
 * every payload GitHub documents for a handled delivery passes those schemas.
 */
import { createHash } from 'node:crypto';
import type { EmitterWebhookEvent, EmitterWebhookEventName } from '@octokit/webhooks';
import type { WebhookEventName } from '@octokit/webhooks/types';
import { z } from 'zod';
import type { ParseOutcome } from '../core/index.js';
import { eventOutcome, ignore, ingressError, parseWith } from '../core/index.js';

export const DEFAULT_BOT_LOGIN = 'deckhand';
export const DEFAULT_TRIGGER_LABEL = 'deckhand';

export interface GitHubWebhook {
  /** X-GitHub-Event: one of GitHub's event names, or anything else (acknowledged and ignored). */
  name: WebhookEventName | (string & {});
  /**
   * X-GitHub-Delivery (a GUID; redeliveries keep it). Unsigned: it is required and logged, but the
   * dedupe key comes from the signed body (Target.signedKey), so a body replayed under new delivery
   * ids is still one piece of work.
   */
  deliveryId: string;
  /** The JSON-parsed body. */
  payload: unknown;
  /** The App's login, with or without `[bot]`; default `deckhand`. */
  botLogin?: string;
  /** An issue labelled with this is a request; default `deckhand`. */
  triggerLabel?: string;
  now?: Date;
}

/** The deliveries Deckhand reacts to, as `event.action` in @octokit/webhooks' names. */
const HANDLED_DELIVERIES = [
  'issue_comment.created',
  'issues.opened',
  'issues.assigned',
  'issues.labeled',
  'pull_request_review_comment.created',
  'pull_request_review.submitted',
  'discussion_comment.created',
] as const satisfies readonly EmitterWebhookEventName[];
type HandledDelivery = (typeof HANDLED_DELIVERIES)[number];
type HandledName = HandledDelivery extends `${infer Name}.${string}` ? Name : never;
/** What GitHub documents as the body of a handled delivery. */
type PayloadOf<D extends HandledDelivery> = EmitterWebhookEvent<D>['payload'];

/** Event name -> the actions Deckhand reacts to. */
const HANDLED = new Map<string, readonly string[]>();
for (const delivery of HANDLED_DELIVERIES) {
  const [name = '', action = ''] = delivery.split('.');
  HANDLED.set(name, [...(HANDLED.get(name) ?? []), action]);
}

function isHandledName(name: string): name is HandledName {
  return HANDLED.has(name);
}

const actorSchema = z.object({ login: z.string().min(1), type: z.string().optional() });
type Actor = z.infer<typeof actorSchema>;

const baseSchema = z.object({
  action: z.string(),
  repository: z.object({ full_name: z.string().min(1) }),
  sender: actorSchema,
  installation: z.object({ id: z.union([z.number(), z.string()]) }).optional(),
});

const commentSchema = z.object({
  id: z.number(),
  updated_at: z.string().nullable().optional(),
  node_id: z.string().optional(),
  body: z.string().nullable().optional(),
  user: actorSchema.nullable().optional(),
  in_reply_to_id: z.number().optional(),
  html_url: z.string().optional(),
});

const issueCommentSchema = baseSchema.extend({
  issue: z.object({
    number: z.number(),
    title: z.string().optional(),
    pull_request: z.unknown().optional(),
  }),
  comment: commentSchema,
});
const issuesSchema = baseSchema.extend({
  issue: z.object({
    id: z.number().optional(),
    number: z.number(),
    updated_at: z.string().nullable().optional(),
    title: z.string().default(''),
    body: z.string().nullable().optional(),
    user: actorSchema.nullable().optional(),
    html_url: z.string().optional(),
  }),
  assignee: actorSchema.nullable().optional(),
  label: z.object({ name: z.string() }).optional(),
});
const pullSchema = z.object({ number: z.number(), title: z.string().optional() });
const reviewCommentSchema = baseSchema.extend({
  pull_request: pullSchema,
  comment: commentSchema,
});
const reviewSchema = baseSchema.extend({
  pull_request: pullSchema,
  review: z.object({
    id: z.number(),
    submitted_at: z.string().nullable().optional(),
    body: z.string().nullable().optional(),
    user: actorSchema.nullable().optional(),
    html_url: z.string().optional(),
  }),
});
const discussionCommentSchema = baseSchema.extend({
  discussion: z.object({ number: z.number(), node_id: z.string().optional() }),
  comment: commentSchema,
});

/** `true` when every payload GitHub documents for the delivery passes the schema. */
type Accepts<Schema extends z.ZodType, D extends HandledDelivery> =
  PayloadOf<D> extends z.input<Schema> ? true : false;
type Expect<T extends true> = T;
/**
 * Checked by the compiler only: a schema that asked for a field GitHub does not send, or typed one
 * differently, would refuse genuine deliveries, and does not compile.
 */
type _SchemasAcceptDocumentedPayloads = [
  Expect<Accepts<typeof issueCommentSchema, 'issue_comment.created'>>,
  Expect<Accepts<typeof issuesSchema, 'issues.opened' | 'issues.assigned' | 'issues.labeled'>>,
  Expect<Accepts<typeof reviewCommentSchema, 'pull_request_review_comment.created'>>,
  Expect<Accepts<typeof reviewSchema, 'pull_request_review.submitted'>>,
  Expect<Accepts<typeof discussionCommentSchema, 'discussion_comment.created'>>,
];

/** What each handled event contributes, before the mention check. */
interface Target {
  kind: 'issue' | 'pull_request' | 'pull_request_review_comment' | 'discussion';
  number: number;
  body: string;
  /** Prepended to the text (a new issue's title is part of the request). */
  title?: string;
  author?: Actor | null | undefined;
  replyTo: Record<string, string | undefined>;
  /** Set for an issue assigned or labelled: a request without a mention, or why it is not one. */
  trigger?: { requested: boolean; reason: string };
  /**
   * What identifies this piece of work inside the signed body: the comment, review or issue id,
   * the action and its time. Two deliveries with the same key are the same request.
   */
  signedKey: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `@deckhand[bot]` / `deckhand` -> `deckhand`. */
function loginOf(botLogin: string): string {
  return botLogin.replace(/^@/, '').replace(/\[bot\]$/i, '');
}

/** Text where a mention counts: no fenced or inline code, no quoted lines (replies quoting an old ask). */
function mentionableText(body: string): string {
  return body
    .replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, ' ')
    .replace(/`[^`\n]*`/g, ' ')
    .split('\n')
    .filter((line) => !/^\s*>/.test(line))
    .join('\n');
}

const LOGIN_MENTION = /(?<![\w@/.`-])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\/[\w.-]+)?)/g;

/** Whether `body` mentions the bot, the body with the mention removed, and the other logins mentioned. */
export function findGitHubMention(
  body: string,
  botLogin: string = DEFAULT_BOT_LOGIN,
): { mentioned: boolean; text: string; mentions: string[] } {
  const login = loginOf(botLogin);
  const mentionPattern = () =>
    new RegExp(`(?<![\\w@/.\`-])@${escapeRegExp(login)}(?:\\[bot\\])?(?![\\w-])[,:]?`, 'gi');
  const visible = mentionableText(body);
  const mentioned = mentionPattern().test(visible);
  const mentions: string[] = [];
  for (const match of visible.matchAll(LOGIN_MENTION)) {
    const other = match[1]!;
    if (other.toLowerCase() !== login.toLowerCase() && !mentions.includes(other)) mentions.push(other);
  }
  const text = body
    .replace(mentionPattern(), ' ')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[ \t]+/gm, '')
    .trim();
  return { mentioned, text, mentions };
}

function targetOf(
  name: HandledName,
  payload: unknown,
  options: { botLogin: string; triggerLabel: string },
): { base: z.infer<typeof baseSchema>; target: Target } {
  const what = `GitHub ${name} payload`;
  if (name === 'issue_comment') {
    const p = parseWith(issueCommentSchema, payload, what);
    const number = String(p.issue.number);
    return {
      base: p,
      target: {
        kind: p.issue.pull_request ? 'pull_request' : 'issue',
        number: p.issue.number,
        body: p.comment.body ?? '',
        author: p.comment.user,
        signedKey: `comment:${p.comment.id}:${p.comment.updated_at ?? ''}`,
        replyTo: {
          commentId: String(p.comment.id),
          commentNodeId: p.comment.node_id,
          issueNumber: number,
          title: p.issue.title,
          url: p.comment.html_url,
        },
      },
    };
  }
  if (name === 'issues') {
    const p = parseWith(issuesSchema, payload, what);
    const self = loginOf(options.botLogin).toLowerCase();
    let trigger: Target['trigger'];
    let whom = '';
    if (p.action === 'assigned') {
      const assignee = p.assignee ? loginOf(p.assignee.login).toLowerCase() : '';
      whom = assignee;
      trigger = { requested: assignee === self, reason: `issues.assigned to someone else` };
    } else if (p.action === 'labeled') {
      const label = p.label?.name.toLowerCase() ?? '';
      whom = label;
      trigger = {
        requested: label === options.triggerLabel.toLowerCase(),
        reason: `issues.labeled with another label`,
      };
    }
    return {
      base: p,
      target: {
        kind: 'issue',
        number: p.issue.number,
        body: p.issue.body ?? '',
        title: p.issue.title,
        author: p.issue.user,
        signedKey: `issue:${p.issue.id ?? `${p.repository.full_name}#${p.issue.number}`}:${whom}:${p.issue.updated_at ?? ''}`,
        replyTo: {
          issueNumber: String(p.issue.number),
          title: p.issue.title,
          url: p.issue.html_url,
          ...(p.issue.user ? { textAuthor: p.issue.user.login } : {}),
        },
        ...(trigger ? { trigger } : {}),
      },
    };
  }
  if (name === 'pull_request_review') {
    const p = parseWith(reviewSchema, payload, what);
    return {
      base: p,
      target: {
        kind: 'pull_request',
        number: p.pull_request.number,
        body: p.review.body ?? '',
        author: p.review.user,
        signedKey: `review:${p.review.id}:${p.review.submitted_at ?? ''}`,
        replyTo: {
          reviewId: String(p.review.id),
          issueNumber: String(p.pull_request.number),
          title: p.pull_request.title,
          url: p.review.html_url,
        },
      },
    };
  }
  if (name === 'pull_request_review_comment') {
    const p = parseWith(reviewCommentSchema, payload, what);
    return {
      base: p,
      target: {
        kind: 'pull_request_review_comment',
        number: p.pull_request.number,
        body: p.comment.body ?? '',
        author: p.comment.user,
        signedKey: `review_comment:${p.comment.id}:${p.comment.updated_at ?? ''}`,
        replyTo: {
          commentId: String(p.comment.id),
          commentNodeId: p.comment.node_id,
          issueNumber: String(p.pull_request.number),
          // Replies go to the review thread's first comment.
          inReplyToId: String(p.comment.in_reply_to_id ?? p.comment.id),
          title: p.pull_request.title,
          url: p.comment.html_url,
        },
      },
    };
  }
  const p = parseWith(discussionCommentSchema, payload, what);
  return {
    base: p,
    target: {
      kind: 'discussion',
      number: p.discussion.number,
      body: p.comment.body ?? '',
      author: p.comment.user,
      signedKey: `discussion_comment:${p.comment.id}:${p.comment.updated_at ?? ''}`,
      replyTo: {
        commentId: String(p.comment.id),
        commentNodeId: p.comment.node_id,
        issueNumber: String(p.discussion.number),
        discussionNodeId: p.discussion.node_id,
      },
    },
  };
}

/** The signed key as the pipeline's dedupe key: as it is when short, else its SHA-256. */
function dedupeKeyOf(signedKey: string): string {
  if (signedKey.length <= 200) return signedKey;
  return `sha256:${createHash('sha256').update(signedKey).digest('hex')}`;
}

export function parseGitHubWebhook(webhook: GitHubWebhook): ParseOutcome {
  const { name, deliveryId, payload } = webhook;
  if (!name) throw ingressError(400, 'Missing X-GitHub-Event header.');
  if (!deliveryId) throw ingressError(400, 'Missing X-GitHub-Delivery header.');
  if (deliveryId.length > 512) throw ingressError(400, 'X-GitHub-Delivery is too long.');
  if (!isRecord(payload)) throw ingressError(400, 'GitHub webhook payload is not a JSON object.');

  // A Map, not an object: `constructor` or `__proto__` as an event name is just another unknown event.
  if (!isHandledName(name)) return ignore(`GitHub event ${name} is not handled`);
  const action = typeof payload.action === 'string' ? payload.action : '(none)';
  if (!HANDLED.get(name)?.includes(action)) return ignore(`GitHub event ${name}.${action} is not handled`);

  const botLogin = webhook.botLogin ?? DEFAULT_BOT_LOGIN;
  const triggerLabel = webhook.triggerLabel ?? DEFAULT_TRIGGER_LABEL;
  const { base, target } = targetOf(name, payload, { botLogin, triggerLabel });
  const self = loginOf(botLogin).toLowerCase();
  // Assigning or labelling is the sender's act; a comment or review is its author's.
  const actor = target.trigger ? null : target.author;
  if (base.sender.type === 'Bot' || actor?.type === 'Bot') return ignore(`${name} by a bot`);
  if (loginOf(base.sender.login).toLowerCase() === self) return ignore(`${name} by Deckhand itself`);

  const found = findGitHubMention(target.body, botLogin);
  if (target.trigger) {
    if (!target.trigger.requested) return ignore(target.trigger.reason);
  } else if (!found.mentioned) {
    return ignore(`${name} does not mention @${loginOf(botLogin)}`);
  }

  const text = target.title ? `${target.title}\n\n${found.text}`.trim() : found.text;
  // Labelling or assigning asks Deckhand to work on text someone else (the issue's author) wrote:
  // that text is context for the model, never a script (src/github/request.ts reads this flag).
  const context = target.trigger ? { textIs: 'context' } : {};
  return eventOutcome(
    {
      platform: 'github',
      workspaceId: base.installation ? String(base.installation.id) : 'none',
      channelId: base.repository.full_name,
      threadId: String(target.number),
      userId: base.sender.login,
      userName: base.sender.login,
      text,
      mentions: found.mentions,
      deliveryKey: dedupeKeyOf(`${name}.${action}:${target.signedKey}`),
      eventType: target.trigger ? `${name}.${action}` : name,
      replyTo: {
        ...target.replyTo,
        ...context,
        repo: base.repository.full_name,
        kind: target.kind,
        deliveryId,
      },
    },
    webhook.now,
  );
}
