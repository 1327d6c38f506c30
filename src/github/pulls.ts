/** The pull request calls the change flow makes, with their answers checked by zod. */
import { z } from 'zod';
import { DeckhandError } from '../core/index.js';
import type { GitHubOctokitClient } from './access.js';

const pullSchema = z.object({
  number: z.number(),
  html_url: z.string(),
  state: z.string().optional(),
  title: z.string().optional(),
  body: z.string().nullable().optional(),
  head: z.object({
    ref: z.string(),
    sha: z.string().optional(),
    repo: z.object({ full_name: z.string() }).nullable().optional(),
  }),
  base: z.object({ ref: z.string() }),
});
export type PullRequest = z.infer<typeof pullSchema>;

function parsed<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new DeckhandError('UPSTREAM_FAILED', `GitHub's answer about ${what} could not be read.`, {
      detail: result.error.message,
    });
  }
  return result.data;
}

export interface RepoRef {
  owner: string;
  repo: string;
}

export async function getPull(octokit: GitHubOctokitClient, where: RepoRef, number: number) {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
    ...where,
    pull_number: number,
  });
  return parsed(pullSchema, data, `pull request #${number}`);
}

export async function defaultBranch(octokit: GitHubOctokitClient, where: RepoRef): Promise<string> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}', { ...where });
  return parsed(z.object({ default_branch: z.string().min(1) }), data, 'the repository').default_branch;
}

export async function issueTitle(octokit: GitHubOctokitClient, where: RepoRef, number: number) {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
    ...where,
    issue_number: number,
  });
  return parsed(z.object({ title: z.string() }), data, `issue #${number}`).title;
}

/** The open pull request from `branch` of this repository, if there is one. */
export async function findOpenPull(
  octokit: GitHubOctokitClient,
  where: RepoRef,
  branch: string,
): Promise<PullRequest | undefined> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls', {
    ...where,
    head: `${where.owner}:${branch}`,
    state: 'open',
    per_page: 10,
  });
  return parsed(z.array(pullSchema), data, 'open pull requests')[0];
}

export interface NewPull {
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
}

/**
 * Opens the pull request, or returns the one already open from that branch: a task that failed after
 * opening it and was retried, or two requests racing, end with one pull request.
 */
export async function openPull(
  octokit: GitHubOctokitClient,
  where: RepoRef,
  pull: NewPull,
): Promise<{ pull: PullRequest; created: boolean }> {
  const existing = await findOpenPull(octokit, where, pull.head);
  if (existing) return { pull: existing, created: false };
  try {
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls', { ...where, ...pull });
    return { pull: parsed(pullSchema, data, 'the new pull request'), created: true };
  } catch (error) {
    // 422 "A pull request already exists for owner:branch": someone (or an earlier try) was first.
    if ((error as { status?: unknown }).status === 422) {
      const raced = await findOpenPull(octokit, where, pull.head);
      if (raced) return { pull: raced, created: false };
    }
    throw error;
  }
}
