/**
 * "@deckhand review" on a pull request: the Reviewer port (a model) reads the diff, its answer is
 * checked with zod, and Deckhand posts one review with line comments (POST .../pulls/{n}/reviews).
 * A comment on a line the diff does not show would make GitHub refuse the whole review, so such
 * comments move into the review's body instead.
 */
import type { NormalizedEvent, ReplySink } from '../core/index.js';
import { DeckhandError, type Logger } from '../core/index.js';
import type { GitHubOctokitClient } from './access.js';
import { conversationText } from './context.js';
import { type Reviewer, type ReviewFile, type ReviewOutput, reviewOutputSchema } from './ports.js';
import { getPull } from './pulls.js';
import { plainReason, retryableError } from './reason.js';
import type { GitHubRequest } from './request.js';

const MAX_FILES = 300;

export interface ReviewContext {
  request: GitHubRequest;
  /** The request's event and task: the reviewer's policy checks and records are the requester's. */
  event: NormalizedEvent;
  taskId: string;
  sink: ReplySink;
  octokit: GitHubOctokitClient;
  signal: AbortSignal;
}

export type ReviewResult =
  | { outcome: 'review'; id: number; url?: string; comments: number }
  | { outcome: 'failed'; reason: string };

/** Lines a review comment may point at, per side, read from the file's diff hunks. */
export function commentableLines(patch: string | undefined): { LEFT: Set<number>; RIGHT: Set<number> } {
  const lines = { LEFT: new Set<number>(), RIGHT: new Set<number>() };
  if (!patch) return lines;
  let left = 0;
  let right = 0;
  for (const line of patch.split('\n')) {
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      left = Number(hunk[1]);
      right = Number(hunk[2]);
    } else if (line.startsWith('+')) {
      lines.RIGHT.add(right++);
    } else if (line.startsWith('-')) {
      lines.LEFT.add(left++);
    } else if (line.startsWith(' ') || line === '') {
      lines.LEFT.add(left++);
      lines.RIGHT.add(right++);
    }
  }
  return lines;
}

function readReview(raw: unknown): ReviewOutput {
  let value = raw;
  if (typeof raw === 'string') {
    // Models often wrap JSON in a code fence.
    const json = /```(?:json)?\s*\n([\s\S]*?)```/.exec(raw)?.[1] ?? raw;
    try {
      value = JSON.parse(json);
    } catch {
      throw new DeckhandError('UPSTREAM_FAILED', 'The model’s review was not JSON, so I posted nothing.');
    }
  }
  const parsed = reviewOutputSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || 'review'}: ${issue.message}`)
      .join('; ');
    throw new DeckhandError(
      'UPSTREAM_FAILED',
      `The model’s review did not have the expected shape (${problems}), so I posted nothing.`,
    );
  }
  return parsed.data;
}

/** The pull request's files with their diff hunks, up to MAX_FILES. */
async function reviewFiles(octokit: GitHubOctokitClient, request: GitHubRequest): Promise<ReviewFile[]> {
  const files: ReviewFile[] = [];
  for await (const page of octokit.paginate.iterator('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', {
    owner: request.owner,
    repo: request.repo,
    pull_number: request.number,
    per_page: 100,
  })) {
    for (const file of page.data) {
      files.push({
        path: file.filename,
        status: file.status,
        ...(file.patch ? { patch: file.patch } : {}),
      });
    }
    if (files.length >= MAX_FILES) break;
  }
  return files;
}

export async function reviewPullRequest(
  reviewer: Reviewer,
  ctx: ReviewContext,
  logger?: Logger,
): Promise<ReviewResult> {
  const { request, sink, octokit } = ctx;
  const where = { owner: request.owner, repo: request.repo };
  await sink.status('working');
  const posted = await sink.post(`**Reviewing pull request #${request.number}** for @${request.requester}…`);
  try {
    const pull = await getPull(octokit, where, request.number);
    const files = await reviewFiles(octokit, request);
    // The diff is read above, for the review's line comments; the conversation adds the thread.
    const conversation = await conversationText(octokit, request, {
      diff: false,
      logger,
      signal: ctx.signal,
    });
    const review = readReview(
      await reviewer({
        repo: request.fullName,
        number: request.number,
        title: pull.title ?? '',
        body: pull.body ?? '',
        files,
        instructions: request.instructions.replace(/^review\b[\s:,-]*/i, ''),
        conversation,
        event: ctx.event,
        taskId: ctx.taskId,
        sink,
        signal: ctx.signal,
      }),
    );
    const byPath = new Map(files.map((file) => [file.path, commentableLines(file.patch)]));
    const inline = review.comments.filter((c) => byPath.get(c.path)?.[c.side].has(c.line));
    const elsewhere = review.comments.filter((c) => !inline.includes(c));
    const body = [
      review.summary,
      ...(elsewhere.length
        ? [
            '',
            '**Further notes** (on lines outside the diff):',
            ...elsewhere.map((c) => `- \`${c.path}:${c.line}\`: ${c.body}`),
          ]
        : []),
    ].join('\n');
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
      ...where,
      pull_number: request.number,
      ...(pull.head.sha ? { commit_id: pull.head.sha } : {}),
      event: 'COMMENT',
      body,
      comments: inline.map((c) => ({ path: c.path, line: c.line, side: c.side, body: c.body })),
    });
    const id = Number((data as { id?: unknown }).id);
    const url = (data as { html_url?: unknown }).html_url;
    const link = typeof url === 'string' ? url : undefined;
    await sink.update(
      posted,
      `**Reviewed pull request #${request.number}** for @${request.requester}: ${inline.length} line comment${inline.length === 1 ? '' : 's'}${link ? `, ${link}` : ''}.`,
    );
    await sink.status('done');
    return { outcome: 'review', id, ...(link ? { url: link } : {}), comments: inline.length };
  } catch (error) {
    const { message, retryable } = plainReason(error);
    logger?.warn({ err: error }, 'GitHub review failed');
    await sink.update(posted, `**I could not review #${request.number}:** ${message}`).catch(() => undefined);
    await sink.status('failed').catch(() => undefined);
    if (retryable) throw retryableError(error, message);
    return { outcome: 'failed', reason: message };
  }
}
