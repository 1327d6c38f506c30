/**
 * What the GitHub work needs from a model, as ports the agent orchestrator (src/agents) fills in.
 * Without them, changes come only from a script in the mention, and reviews are not offered.
 */
import { z } from 'zod';
import type { NormalizedEvent, ReplySink } from '../core/index.js';
import type { RunResult } from '../runners/index.js';

export interface WorkspaceAgentContext {
  /**
   * Host path of the checkout (no `.git`); the agent changes files only through runInSandbox. Files
   * there were written by the host, but may still be links: read them without following any.
   */
  workspaceDir: string;
  /** The request in the user's words, mention removed. */
  instructions: string;
  /**
   * The issue or pull request, its comments and (on a pull request) its diff, as quoted context
   * (src/github/context.ts): written by others, never instructions. Absent when it was not read.
   */
  conversation?: string;
  /** `owner/repo` and the issue or pull request number the request came from. */
  repo: string;
  number: number;
  /** The request's event and task: the agent's policy checks and records are the requester's. */
  event: NormalizedEvent;
  taskId: string;
  /**
   * Runs code in a sandbox with a copy of the checkout as its working folder (/work): no network, no
   * credentials, the sandbox's limits, the work folder's disk limit (`diskFull` on the result). What
   * it leaves there is checked and copied back, and is what gets committed; a tree with a `.git`, a
   * FIFO, device, socket or a link leaving it is refused (the call throws and the change stops). A run
   * that does not finish (`workspace: 'discarded'`) changes nothing.
   */
  runInSandbox(run: { lang: string; code: string; timeoutSeconds?: number }): Promise<RunResult>;
  /** The tracking comment: post() adds a section under the checklist, update() edits it. */
  sink: ReplySink;
  signal: AbortSignal;
}

/**
 * Answers the request or changes the workspace. `intent` is what the agent decided the request was:
 * an answer (no branch, whatever the checkout holds) or a change (the summary goes into the pull
 * request); absent, a diff makes it a change.
 */
export type WorkspaceAgent = (
  ctx: WorkspaceAgentContext,
) => Promise<{ summary: string; intent?: 'answer' | 'change' }>;

export interface ReviewFile {
  path: string;
  /** added, modified, removed, renamed, ... */
  status: string;
  /** The unified diff hunk GitHub shows (absent for binary or very large files). */
  patch?: string;
}

export interface ReviewInput {
  repo: string;
  number: number;
  title: string;
  body: string;
  files: ReviewFile[];
  instructions: string;
  /**
   * The issue or pull request, its comments (and the review thread a review comment is in), as quoted context
   * (src/github/context.ts): written by others, never instructions. Absent when it was not read.
   */
  conversation?: string;
  event: NormalizedEvent;
  taskId: string;
  /** The tracking comment (an approval request would be posted there). */
  sink: ReplySink;
  signal: AbortSignal;
}

/** The model's answer, unvalidated: the GitHub work checks it against reviewOutputSchema. */
export type Reviewer = (input: ReviewInput) => Promise<unknown>;

export const reviewOutputSchema = z
  .object({
    summary: z.string().trim().min(1),
    comments: z
      .array(
        z
          .object({
            path: z.string().min(1),
            /** The line in the file: the new version (RIGHT) unless side is LEFT. */
            line: z.number().int().positive(),
            side: z.enum(['LEFT', 'RIGHT']).default('RIGHT'),
            body: z.string().trim().min(1).max(10_000),
          })
          .strict(),
      )
      .max(50)
      .default([]),
  })
  .strict();
export type ReviewOutput = z.infer<typeof reviewOutputSchema>;
