/**
 * GitHub replies as ONE tracking comment per task (the claude-code-action pattern): the first post
 * (or the first status) creates a comment on the issue or pull request; later posts append a section
 * and updates replace one, all by editing that same comment; status is a line at its top
 * (⏳ working / ✅ done / ❌ failed). Discussions get the same comment through GraphQL.
 * The caller supplies an installation-authenticated client (see githubInstallationClient).
 */
import { z } from 'zod';
import type { NormalizedEvent, PostedReply, ReplySink, ReplyStatus } from '../core/index.js';
import {
  type Attempt,
  DeckhandError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  serialQueue,
  truncateText,
  withRetries,
} from '../core/index.js';
import { createGitHubAccess, type GitHubAccessOptions, sinkClientFor } from './access.js';

/** What the sink needs from Octokit: `octokit.request` fits. */
export interface GitHubClient {
  request(route: string, params: object): Promise<{ data: unknown }>;
}

/** The comment an earlier attempt of the same task posted: a retry edits it instead of adding one. */
export interface ReplyAnchor {
  find(): Promise<string | undefined>;
  save(ref: string): Promise<void>;
}

export interface GitHubSinkOptions {
  client: GitHubClient;
  retry?: RetryOptions;
  anchor?: ReplyAnchor | undefined;
}

export const GITHUB_MAX_COMMENT = 65_000;
export const TRACKING_MARKER = '<!-- deckhand:tracking-comment -->';
export const STATUS_LINES: Record<ReplyStatus, string> = {
  working: '⏳ **Deckhand is working…**',
  done: '✅ **Deckhand finished**',
  failed: '❌ **Deckhand failed**',
};
const SECTION_BREAK = '\n\n---\n\n';

const restCommentSchema = z.object({ id: z.union([z.number(), z.string()]) });
const graphqlSchema = z.object({
  data: z.record(z.string(), z.object({ comment: z.object({ id: z.string() }) }).nullable()).nullish(),
  errors: z.array(z.object({ message: z.string() })).optional(),
});

const ADD_DISCUSSION_COMMENT = `mutation($discussionId: ID!, $body: String!) {
  addDiscussionComment(input: {discussionId: $discussionId, body: $body}) { comment { id } }
}`;
const UPDATE_DISCUSSION_COMMENT = `mutation($commentId: ID!, $body: String!) {
  updateDiscussionComment(input: {commentId: $commentId, body: $body}) { comment { id } }
}`;

function headerOf(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** An error thrown by the client -> retry (429, 5xx, secondary rate limit) or a permanent failure. */
export function githubFailure(error: unknown): Attempt<never> {
  const status =
    typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  if (typeof status !== 'number' || status === 0)
    return { ok: false, retry: true, reason: 'network error', cause: error };
  const response = (error as { response?: { headers?: unknown; data?: unknown } }).response;
  const retryAfter = parseRetryAfter(headerOf(response?.headers, 'retry-after'));
  const reset = Number(headerOf(response?.headers, 'x-ratelimit-reset'));
  const exhausted = headerOf(response?.headers, 'x-ratelimit-remaining') === '0';
  const resetWait = exhausted && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined;
  const rateLimited = status === 429 || (status === 403 && (retryAfter !== undefined || exhausted));
  const message = z.object({ message: z.string() }).safeParse(response?.data).data?.message;
  return {
    ok: false,
    retry: rateLimited || isRetryableStatus(status),
    reason: `HTTP ${status}${message ? ` (${message})` : ''}`,
    retryAfterMs: retryAfter ?? resetWait,
    cause: error,
  };
}

export function createGitHubSink(event: NormalizedEvent, options: GitHubSinkOptions): ReplySink {
  const { replyTo } = event;
  const repo = replyTo.repo ?? event.channelId;
  const [owner, name] = repo.split('/');
  const issueNumber = Number(replyTo.issueNumber ?? event.threadId);
  if (!owner || !name || !Number.isInteger(issueNumber) || issueNumber <= 0) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `Cannot reply on GitHub: "${repo}#${issueNumber}" is not an issue.`,
    );
  }
  const discussionId = replyTo.kind === 'discussion' ? replyTo.discussionNodeId : undefined;
  if (replyTo.kind === 'discussion' && !discussionId) {
    throw new DeckhandError('BAD_REQUEST', 'Cannot reply to a GitHub discussion without its node id.');
  }

  const serial = serialQueue();
  const sections: string[] = [];
  let statusLine: string | undefined;
  let commentId: string | undefined;
  let written: string | undefined;

  async function request(what: string, route: string, params: object): Promise<unknown> {
    return withRetries(
      `GitHub ${what}`,
      async (): Promise<Attempt<unknown>> => {
        try {
          const { data } = await options.client.request(route, params);
          return { ok: true, value: data };
        } catch (error) {
          return githubFailure(error);
        }
      },
      options.retry,
    );
  }

  async function graphql(what: string, query: string, variables: Record<string, string>): Promise<string> {
    const parsed = graphqlSchema.safeParse(await request(what, 'POST /graphql', { query, variables }));
    const errors = parsed.data?.errors?.map((e) => e.message).join('; ');
    const id = Object.values(parsed.data?.data ?? {})[0]?.comment.id;
    if (errors || !id) {
      // GitHub's own error text is for the log (detail), not for the thread.
      throw new DeckhandError('UPSTREAM_FAILED', `GitHub ${what} failed.`, {
        detail: errors || 'no comment in the answer',
      });
    }
    return id;
  }

  function render(): string {
    const parts = [statusLine, sections.join(SECTION_BREAK)].filter((part): part is string => Boolean(part));
    const body = truncateText(parts.join('\n\n'), GITHUB_MAX_COMMENT - TRACKING_MARKER.length - 2);
    return `${body}\n\n${TRACKING_MARKER}`;
  }

  /** Creates the tracking comment, or edits it when the rendered body changed. */
  async function sync(): Promise<string> {
    const body = render();
    // A retried task finds the comment its earlier attempt posted and rewrites it.
    if (commentId === undefined && options.anchor) commentId = await options.anchor.find();
    if (commentId === undefined) {
      if (discussionId) {
        commentId = await graphql('discussion comment', ADD_DISCUSSION_COMMENT, { discussionId, body });
      } else {
        const data = await request(
          'issue comment',
          'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
          {
            owner,
            repo: name,
            issue_number: issueNumber,
            body,
          },
        );
        const parsed = restCommentSchema.safeParse(data);
        if (!parsed.success)
          throw new DeckhandError('UPSTREAM_FAILED', 'GitHub answered without a comment id.');
        commentId = String(parsed.data.id);
      }
      await options.anchor?.save(commentId);
    } else if (body !== written) {
      if (discussionId) {
        await graphql('discussion comment edit', UPDATE_DISCUSSION_COMMENT, { commentId, body });
      } else {
        await request('comment edit', 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
          owner,
          repo: name,
          comment_id: Number(commentId),
          body,
        });
      }
    }
    written = body;
    return commentId;
  }

  return {
    post(text: string): Promise<PostedReply> {
      return serial(async () => {
        sections.push(text || '(no output)');
        const index = sections.length - 1;
        try {
          return { id: `${await sync()}#${index}` };
        } catch (error) {
          sections.splice(index, 1);
          throw error;
        }
      });
    },
    update(reply: PostedReply, text: string): Promise<void> {
      return serial(async () => {
        const index = Number(reply.id.split('#').pop());
        if (!Number.isInteger(index) || index < 0 || index >= sections.length) {
          throw new DeckhandError('NOT_FOUND', `No reply ${reply.id} in this GitHub tracking comment.`);
        }
        sections[index] = text || '(no output)';
        await sync();
      });
    },
    status(status: ReplyStatus): Promise<void> {
      return serial(async () => {
        statusLine = STATUS_LINES[status];
        await sync();
      });
    },
  };
}

export interface GitHubInstallationOptions
  extends Pick<GitHubAccessOptions, 'baseUrl' | 'logger' | 'throttle' | 'redis'> {
  appId: string | number;
  /** PEM; `\n` escapes (common when the key sits in an environment variable) are turned into newlines. */
  privateKey: string;
  installationId: string | number;
}

/**
 * A client acting as the App's installation: the GitHubOctokit of createGitHubAccess, as every other
 * GitHub client. The installation token is fetched on the first request and refreshed by
 * @octokit/auth-app when it expires.
 */
export function githubInstallationClient(options: GitHubInstallationOptions): GitHubClient {
  const installationId = Number(options.installationId);
  if (!Number.isInteger(installationId) || installationId <= 0) {
    throw new DeckhandError(
      'BAD_REQUEST',
      `"${options.installationId}" is not a GitHub App installation id.`,
    );
  }
  const { installationId: _installation, ...access } = options;
  return sinkClientFor(createGitHubAccess(access), String(installationId));
}
