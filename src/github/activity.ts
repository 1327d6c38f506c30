/**
 * What happened in a repository over a time window, for team digests: merged pull requests, open
 * pull requests waiting for review (with their age), issues opened and closed, failing checks on the
 * default branch, and who contributed. Lists are paginated and stop early once results fall outside
 * the window (the pull request and issue lists are sorted by last update).
 *
 * The caller passes an Octokit (an App installation client in production, one pointed at nock or a
 * loopback server in tests). A repository that cannot be read (404/403: not installed, no access)
 * is reported in its `error` field so the rest of the digest still goes out; a transient failure
 * (5xx, rate limit, network) is thrown as a retryable DeckhandError so the whole run is retried.
 */
import type { Octokit } from '@octokit/rest';
import { DeckhandError } from '../core/index.js';
import { githubFailure } from './sink.js';

export interface ActivityWindow {
  since: Date;
  until: Date;
}

export interface ActivityItem {
  number: number;
  title: string;
  author: string;
  url: string;
}

export interface WaitingPullRequest extends ActivityItem {
  openedAt: string;
  /** Whole hours since it was opened, at `until`. */
  ageHours: number;
  reviewers: string[];
}

export interface FailingCheck {
  name: string;
  conclusion: string;
  url: string;
}

export interface RepoActivity {
  repo: string;
  defaultBranch: string;
  merged: ActivityItem[];
  waitingForReview: WaitingPullRequest[];
  openedIssues: ActivityItem[];
  closedIssues: ActivityItem[];
  failingChecks: FailingCheck[];
  contributors: string[];
  /** Set when the repository could not be read; the lists are then empty. */
  error?: string;
}

export interface ActivityOptions {
  /** Items kept per list (default 50); the digest says when there were more. */
  maxItems?: number;
  /** Pages of 100 read per list at most (default 5). */
  maxPages?: number;
}

const FAILING = new Set(['failure', 'timed_out', 'action_required', 'startup_failure']);
const REPO_PATTERN = /^([\w.-]+)\/([\w.-]+)$/;

function within(date: string | null | undefined, window: ActivityWindow): boolean {
  if (!date) return false;
  const at = Date.parse(date);
  return at >= window.since.getTime() && at < window.until.getTime();
}

function login(user: { login?: string } | null | undefined): string {
  return user?.login ?? 'someone';
}

/** Throws a retryable error for transient failures; returns the reason for permanent ones. */
function permanentReason(error: unknown, repo: string): string {
  const failure = githubFailure(error);
  if (!failure.ok && failure.retry) {
    throw new DeckhandError('UPSTREAM_FAILED', `GitHub did not answer for ${repo}: ${failure.reason}.`, {
      retryable: true,
      cause: error,
    });
  }
  const reason = failure.ok ? 'unknown error' : failure.reason;
  return /HTTP (403|404)/.test(reason)
    ? `cannot read ${repo} (${reason}): is the GitHub App installed there?`
    : `cannot read ${repo} (${reason})`;
}

export async function collectRepoActivity(
  octokit: Octokit,
  repo: string,
  window: ActivityWindow,
  options: ActivityOptions = {},
): Promise<RepoActivity> {
  const match = REPO_PATTERN.exec(repo);
  if (!match)
    throw new DeckhandError('BAD_REQUEST', `"${repo}" is not a repository; write it as owner/name.`);
  const owner = match[1]!;
  const name = match[2]!;
  const maxItems = options.maxItems ?? 50;
  const maxPages = options.maxPages ?? 5;
  const base = { owner, repo: name };
  try {
    const { data: info } = await octokit.request('GET /repos/{owner}/{repo}', base);
    const defaultBranch = info.default_branch;
    const contributors = new Set<string>();

    // Six independent reads, in parallel: a digest waits for the slowest, not for their sum.
    const merged: ActivityItem[] = [];
    const waitingForReview: WaitingPullRequest[] = [];
    const openedIssues: ActivityItem[] = [];
    const closedIssues: ActivityItem[] = [];
    const failingChecks: FailingCheck[] = [];
    const failingStatuses: FailingCheck[] = [];
    await Promise.all([
      (async () => {
        // Merged PRs: closed ones by last update, newest first, until they predate the window.
        let pages = 0;
        for await (const page of octokit.paginate.iterator('GET /repos/{owner}/{repo}/pulls', {
          ...base,
          state: 'closed',
          sort: 'updated',
          direction: 'desc',
          per_page: 100,
        })) {
          for (const pr of page.data) {
            if (!within(pr.merged_at, window)) continue;
            merged.push({ number: pr.number, title: pr.title, author: login(pr.user), url: pr.html_url });
            contributors.add(login(pr.user));
          }
          const oldest = page.data.at(-1)?.updated_at;
          if (++pages >= maxPages || !oldest || Date.parse(oldest) < window.since.getTime()) break;
        }
      })(),
      (async () => {
        let pages = 0;
        for await (const page of octokit.paginate.iterator('GET /repos/{owner}/{repo}/pulls', {
          ...base,
          state: 'open',
          sort: 'created',
          direction: 'asc',
          per_page: 100,
        })) {
          for (const pr of page.data) {
            if (pr.draft || Date.parse(pr.created_at) >= window.until.getTime()) continue;
            waitingForReview.push({
              number: pr.number,
              title: pr.title,
              author: login(pr.user),
              url: pr.html_url,
              openedAt: pr.created_at,
              ageHours: Math.max(
                0,
                Math.floor((window.until.getTime() - Date.parse(pr.created_at)) / 3_600_000),
              ),
              reviewers: [
                ...(pr.requested_reviewers ?? []).map((r) => login(r)),
                ...(pr.requested_teams ?? []).map((t) => `team:${t.slug}`),
              ],
            });
          }
          if (++pages >= maxPages) break;
        }
      })(),
      (async () => {
        // Issues updated since the window opened (the list includes PRs; they are skipped).
        let pages = 0;
        for await (const page of octokit.paginate.iterator('GET /repos/{owner}/{repo}/issues', {
          ...base,
          state: 'all',
          since: window.since.toISOString(),
          sort: 'updated',
          direction: 'desc',
          per_page: 100,
        })) {
          for (const issue of page.data) {
            if (issue.pull_request) continue;
            const item = {
              number: issue.number,
              title: issue.title,
              author: login(issue.user),
              url: issue.html_url,
            };
            if (within(issue.created_at, window)) openedIssues.push(item);
            if (issue.state === 'closed' && within(issue.closed_at, window)) closedIssues.push(item);
          }
          if (++pages >= maxPages) break;
        }
      })(),
      (async () => {
        const { data: checks } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
          ...base,
          ref: defaultBranch,
          per_page: 100,
        });
        for (const run of checks.check_runs) {
          if (run.conclusion && FAILING.has(run.conclusion)) {
            failingChecks.push({ name: run.name, conclusion: run.conclusion, url: run.html_url ?? '' });
          }
        }
      })(),
      (async () => {
        const { data: status } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/status', {
          ...base,
          ref: defaultBranch,
        });
        for (const s of status.statuses) {
          if (s.state === 'failure' || s.state === 'error') {
            failingStatuses.push({ name: s.context, conclusion: s.state, url: s.target_url ?? '' });
          }
        }
      })(),
      (async () => {
        let pages = 0;
        for await (const page of octokit.paginate.iterator('GET /repos/{owner}/{repo}/commits', {
          ...base,
          sha: defaultBranch,
          since: window.since.toISOString(),
          until: window.until.toISOString(),
          per_page: 100,
        })) {
          for (const commit of page.data) {
            const who = commit.author?.login ?? commit.commit.author?.name;
            if (who) contributors.add(who);
          }
          if (++pages >= maxPages) break;
        }
      })(),
    ]);
    failingChecks.push(...failingStatuses);

    return {
      repo,
      defaultBranch,
      merged: merged.slice(0, maxItems),
      waitingForReview: waitingForReview.slice(0, maxItems),
      openedIssues: openedIssues.slice(0, maxItems),
      closedIssues: closedIssues.slice(0, maxItems),
      failingChecks: failingChecks.slice(0, maxItems),
      contributors: [...contributors].sort((a, b) => a.localeCompare(b)),
    };
  } catch (error) {
    if (error instanceof DeckhandError) throw error;
    return { ...emptyActivity(repo), error: permanentReason(error, repo) };
  }
}

/** Activity for several repositories, read in parallel. */
export async function collectActivity(
  octokitFor: (repo: string) => Promise<Octokit> | Octokit,
  repos: string[],
  window: ActivityWindow,
  options: ActivityOptions = {},
): Promise<RepoActivity[]> {
  return Promise.all(
    repos.map(async (repo) => {
      let octokit: Octokit;
      try {
        octokit = await octokitFor(repo);
      } catch (error) {
        if (error instanceof DeckhandError && !error.retryable) {
          return { ...emptyActivity(repo), error: error.userMessage };
        }
        return { ...emptyActivity(repo), error: permanentReason(error, repo) };
      }
      return collectRepoActivity(octokit, repo, window, options);
    }),
  );
}

export function emptyActivity(repo: string): RepoActivity {
  return {
    repo,
    defaultBranch: '',
    merged: [],
    waitingForReview: [],
    openedIssues: [],
    closedIssues: [],
    failingChecks: [],
    contributors: [],
  };
}
