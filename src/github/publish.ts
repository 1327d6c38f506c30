/**
 * The last step of a GitHub change: push the branch, open the pull request (or, on a follow-up,
 * rewrite the "what changed" part of its body), report it in the tracking comment and record the
 * audit entry. Split from change-steps.ts, which runs the steps before it.
 */
import type { ChangeResult } from './change.js';
import { rewrittenBody, type TestReport, testsSection, whatChanged } from './change-report.js';
import {
  botLoginOf,
  type Change,
  type ChangeRun,
  type Checkout,
  enter,
  type Target,
} from './change-steps.js';
import { pushBranch } from './git.js';
import { openPull } from './pulls.js';
import { subjectOf } from './request.js';

function pullBody(run: ChangeRun, target: Target, change: Change, report: TestReport | undefined): string {
  const { request } = run.ctx;
  return [
    `Fixes #${target.issue}`,
    whatChanged(change.summary, change.changed, report),
    `Requested by @${request.requester}${request.url ? ` in ${request.url}` : ''}.`,
    `---\nMade by Deckhand. Mention @${botLoginOf(run.deps.settings)} on this pull request to ask for more changes.`,
  ].join('\n\n');
}

/**
 * A follow-up pushed a commit to an open pull request: its "what changed" part now says what this
 * request did. A body without the markers (written by hand, or before them) is left as it is.
 */
async function rewriteWhatChanged(
  run: ChangeRun,
  pull: { number: number; body?: string | null | undefined },
  change: Change,
  report: TestReport | undefined,
): Promise<void> {
  const next = rewrittenBody(pull.body ?? '', whatChanged(change.summary, change.changed, report));
  if (next === undefined) return;
  const { request } = run.ctx;
  try {
    await run.ctx.octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
      owner: request.owner,
      repo: request.repo,
      pull_number: pull.number,
      body: next,
    });
  } catch (error) {
    // The push is done; an old description is not a reason to fail (and retry) the task.
    run.deps.logger?.warn({ err: error, pull: pull.number }, 'could not update the pull request body');
  }
}

/** Pushes the branch, opens the pull request unless it exists, reports it and records the audit entry. */
export async function publish(
  run: ChangeRun,
  { remote, target, ws }: Checkout,
  change: Change,
  report: TestReport | undefined,
): Promise<ChangeResult> {
  await enter(run, 'publish');
  const { deps, ctx, checklist } = run;
  const { request } = ctx;
  const { commit } = change;
  // A fresh token: the tests may have taken a while.
  remote.token = await deps.access.gitToken(ctx.installationId);
  await pushBranch(ws, remote, target.branch);
  run.pushed = { branch: target.branch, base: target.base };
  const body = pullBody(run, target, change, report);
  const { pull, created } = target.pull
    ? { pull: target.pull, created: false }
    : await openPull(
        ctx.octokit,
        { owner: request.owner, repo: request.repo },
        {
          title: subjectOf(target.title || request.instructions, `Changes for #${target.issue}`),
          body,
          head: target.branch,
          base: target.base,
          draft: deps.settings.draftPullRequests,
        },
      );
  const pushedText = commit
    ? `Pushed ${commit.slice(0, 7)} to \`${target.branch}\``
    : `Branch \`${target.branch}\` is up to date`;
  checklist.set('publish', 'done', created ? `opened #${pull.number}` : `#${pull.number}`);
  checklist.addOutcome(
    `${created ? `Opened pull request #${pull.number}` : `${pushedText}; pull request #${pull.number}`}: ${pull.html_url}`,
  );
  if (!created && commit) {
    checklist.addOutcome(testsSection(report));
    await rewriteWhatChanged(run, pull, change, report);
  }
  await run.show();
  await ctx.sink.status('done');
  await deps.store
    ?.recordAudit({
      actor: `github:${request.requester}`,
      action: created ? 'github.pull_request.open' : 'github.pull_request.push',
      target: `${request.fullName}#${pull.number}`,
      outcome: 'succeeded',
      detail: { branch: target.branch, commit, task: ctx.taskId },
      workspace: `github:${ctx.installationId}`,
    })
    .catch((error: unknown) => deps.logger?.warn({ err: error }, 'could not record the audit entry'));
  return {
    outcome: 'pull_request',
    number: pull.number,
    url: pull.html_url,
    branch: target.branch,
    ...(commit ? { commit } : {}),
    created,
  };
}
