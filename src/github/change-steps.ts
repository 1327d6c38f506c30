/**
 * The steps of a GitHub change (change.ts runs them in order): find the branch and clone it, make the
 * change in the sandbox (a script or the agent) and commit it, run the repository's tests in the
 * sandbox, then push and open or update the pull request. Each step keeps the tracking comment's
 * checklist current through the ChangeRun it is given.
 */
import type { Config } from '../core/index.js';
import { DeckhandError } from '../core/index.js';
import type { ChangeContext, ChangeDeps, ChangeResult, CodeRunner } from './change.js';
import {
  fenced,
  rewrittenBody,
  scriptFailure,
  type TestReport,
  testsSection,
  VERDICT_TEXT,
  whatChanged,
} from './change-report.js';
import type { Checklist } from './checklist.js';
import { detectTests, testVerdict } from './detect-tests.js';
import {
  changedPaths,
  cloneBranch,
  commitAll,
  createWorkspace,
  headCommit,
  pushBranch,
  type Remote,
  remoteBranches,
  submodulePaths,
  type Workspace,
} from './git.js';
import type { WorkspaceAgentContext } from './ports.js';
import { defaultBranch, getPull, issueTitle, openPull, type PullRequest } from './pulls.js';
import { slugOf, subjectOf } from './request.js';

/** The pull request's summary when the agent gave none. */
const DEFAULT_SUMMARY = 'Made the requested change.';

const BRANCH_PREFIX = 'deckhand/';

export function botLoginOf(settings: Config['github']): string {
  return settings.botName.replace(/^@/, '').replace(/\[bot\]$/i, '');
}

function authorOf(settings: Config['github']) {
  const bot = `${botLoginOf(settings)}[bot]`;
  return {
    name: settings.commitName || bot,
    email: settings.commitEmail || `${bot}@users.noreply.github.com`,
  };
}

/** What every step of one change shares: its inputs, the tracking comment, and what to clean up. */
export interface ChangeRun {
  deps: ChangeDeps;
  ctx: ChangeContext;
  checklist: Checklist;
  /** Edits the tracking comment to the checklist as it is now. */
  show: () => Promise<void>;
  /** The host checkout, once created: removed when the change ends. */
  ws?: Workspace | undefined;
  /** Set once the branch is on GitHub: a failure after that can still point at it. */
  pushed?: { branch: string; base: string } | undefined;
}

interface Target {
  branch: string;
  /** The branch to clone: the Deckhand branch once it exists, else the base. */
  cloneFrom: string;
  base: string;
  /** The issue the pull request fixes. */
  issue: number;
  title: string;
  exists: boolean;
  pull?: PullRequest;
}

/** The cloned checkout and where it goes back to. */
export interface Checkout {
  remote: Remote;
  target: Target;
  ws: Workspace;
}

/** What the change step made: the pull request's summary, and the commit (none when nothing changed). */
export interface Change {
  summary: string;
  commit?: string | undefined;
  changed: string[];
}

type RunInSandbox = WorkspaceAgentContext['runInSandbox'];

/** Marks a step as running, shows it, and stops there if the task was cancelled. */
async function enter(run: ChangeRun, key: string): Promise<void> {
  run.checklist.set(key, 'running');
  await run.show();
  run.ctx.signal.throwIfAborted();
}

async function findTarget(ctx: ChangeContext, remote: Remote): Promise<Target | string> {
  const { octokit, request } = ctx;
  const where = { owner: request.owner, repo: request.repo };
  if (request.onPullRequest) {
    const pull = await getPull(octokit, where, request.number);
    const ours = pull.head.ref.startsWith(BRANCH_PREFIX) && pull.head.repo?.full_name === request.fullName;
    if (!ours) {
      return `I only push to pull requests I opened (branches named \`${BRANCH_PREFIX}…\` in ${request.fullName}). Mention me on the issue instead, or ask me to \`review\` this one.`;
    }
    if (pull.state && pull.state !== 'open') {
      return `Pull request #${pull.number} is closed. Reopen it, or mention me on the issue for a new one.`;
    }
    const issue = Number(/^deckhand\/(\d+)-/.exec(pull.head.ref)?.[1] ?? pull.number);
    return {
      branch: pull.head.ref,
      cloneFrom: pull.head.ref,
      base: pull.base.ref,
      issue,
      title: pull.title ?? request.title ?? '',
      exists: true,
      pull,
    };
  }
  const title = request.title ?? (await issueTitle(octokit, where, request.number));
  const [base, existing] = await Promise.all([
    defaultBranch(octokit, where),
    remoteBranches(remote, `${BRANCH_PREFIX}${request.number}-`),
  ]);
  const branch = existing.sort()[0] ?? `${BRANCH_PREFIX}${request.number}-${slugOf(title)}`;
  return {
    branch,
    cloneFrom: existing.length ? branch : base,
    base,
    issue: request.number,
    title,
    exists: existing.length > 0,
  };
}

/** Finds the branch to work on and clones it; a refusal (not our pull request, closed) is reported. */
export async function prepareCheckout(run: ChangeRun): Promise<Checkout | ChangeResult> {
  const { deps, ctx, checklist } = run;
  const { request } = ctx;
  const remote: Remote = {
    url: `${deps.settings.cloneBaseUrl.replace(/\/+$/, '')}/${request.owner}/${request.repo}.git`,
    token: await deps.access.gitToken(ctx.installationId),
  };
  const target = await findTarget(ctx, remote);
  if (typeof target === 'string') {
    checklist.set('clone', 'skipped').skipRest().addOutcome(target);
    await run.show();
    await ctx.sink.status('done');
    return { outcome: 'failed', reason: target };
  }
  checklist
    .relabel('clone', `Clone ${request.fullName} (\`${target.cloneFrom}\`)`)
    .relabel(
      'publish',
      target.pull
        ? `Commit and push to \`${target.branch}\` (#${target.pull.number})`
        : `Commit, push \`${target.branch}\` and open a pull request`,
    );
  const ws = await createWorkspace(deps.settings.workspaceDir);
  run.ws = ws;
  await cloneBranch(ws, remote, target.cloneFrom);
  checklist.set('clone', 'done');
  return { remote, target, ws };
}

/**
 * Runs the script or the agent on the checkout in the sandbox and commits what changed; undefined
 * when a new branch would hold no change (reported). A retried task whose commit already reached the
 * branch does not apply its change twice.
 */
export async function applyChange(
  run: ChangeRun,
  runner: CodeRunner,
  { target, ws }: Checkout,
): Promise<Change | undefined> {
  await enter(run, 'change');
  const { ctx } = run;
  const script = ctx.request.script;
  const trailer = `Deckhand-Task: ${ctx.taskId}`;
  const already = target.exists && (await headCommit(ws)).message.includes(trailer);
  // The checkout is copied in; what the run leaves there is checked and written back by the runner.
  const sealed = await submodulePaths(ws);
  const runInSandbox: RunInSandbox = (job) =>
    runner.run({
      lang: job.lang,
      code: job.code,
      workspace: { dir: ws.workDir, collect: true, sealed },
      taskId: ctx.taskId,
      ...(job.timeoutSeconds ? { timeoutSeconds: job.timeoutSeconds } : {}),
    });
  const scriptSummary = script
    ? `Ran the \`${script.lang}\` script from the request in Deckhand's sandbox:\n\n${fenced(script.code.trimEnd(), script.lang)}`
    : '';
  if (already) {
    // The earlier try's commit says what it did; the pull request should too.
    const summary = scriptSummary || (await headCommit(ws)).message.split('\n')[0] || DEFAULT_SUMMARY;
    run.checklist.set('change', 'done', 'already committed by an earlier try');
    return { summary, changed: [] };
  }
  const summary = await runRequest(run, ws, runInSandbox, scriptSummary);
  return await commitChange(run, { target, ws }, trailer, summary);
}

/** Runs the request's script, or hands the checkout to the agent; the summary for the pull request. */
async function runRequest(
  run: ChangeRun,
  ws: Workspace,
  runInSandbox: RunInSandbox,
  scriptSummary: string,
): Promise<string> {
  const { deps, ctx } = run;
  const { request } = ctx;
  if (request.script) {
    const failed = scriptFailure(
      await runInSandbox({ lang: request.script.lang, code: request.script.code }),
    );
    if (failed) throw failed;
    return scriptSummary;
  }
  if (deps.agent) {
    const answer = await deps.agent({
      workspaceDir: ws.workDir,
      instructions: request.instructions,
      repo: request.fullName,
      number: request.number,
      runInSandbox,
      sink: ctx.sink,
      signal: ctx.signal,
    });
    return answer.summary.trim() || DEFAULT_SUMMARY;
  }
  throw new DeckhandError('NOT_CONFIGURED', 'No model is configured to make changes.');
}

/** Commits what the run changed, with the trailer; undefined (reported) when a new branch would be empty. */
async function commitChange(
  run: ChangeRun,
  { target, ws }: Pick<Checkout, 'target' | 'ws'>,
  trailer: string,
  summary: string,
): Promise<Change | undefined> {
  const { deps, ctx, checklist } = run;
  const { request } = ctx;
  const changed = await changedPaths(ws);
  if (changed.length) {
    checklist.set('change', 'done', `${changed.length} file${changed.length === 1 ? '' : 's'} changed`);
    const subject = subjectOf(request.instructions, `Changes asked for in #${target.issue}`);
    const message = [
      subject,
      '',
      `Requested by @${request.requester} in ${request.fullName}#${request.number}.`,
      '',
      trailer,
    ].join('\n');
    const commit = await commitAll(ws, authorOf(deps.settings), message);
    return { summary, commit, changed };
  }
  if (!target.exists) {
    checklist.set('change', 'done', 'nothing changed').skipRest();
    // A question ("why does X fail?") changes nothing: the model's answer is the outcome, no branch.
    const answer = request.script || summary === DEFAULT_SUMMARY ? '' : summary.trim();
    checklist.addOutcome(
      answer
        ? `${answer}\n\n_No file changed, so there is no pull request._`
        : 'The request ran, but it changed no file, so there is nothing to open a pull request for.',
    );
    await run.show();
    await ctx.sink.status('done');
    return undefined;
  }
  checklist.set('change', 'done', 'nothing changed');
  return { summary, changed };
}

/** Runs the repository's tests, if it has any, on a copy of the committed checkout. */
export async function runTests(
  run: ChangeRun,
  runner: CodeRunner,
  ws: Workspace,
): Promise<TestReport | undefined> {
  await enter(run, 'test');
  const tests = await detectTests(ws.workDir);
  if (!tests) {
    run.checklist.set('test', 'skipped', 'no test command found');
    return undefined;
  }
  // The tests get a copy of the committed checkout; nothing they write comes back.
  const result = await runner.run({
    lang: 'bash',
    code: tests.script,
    workspace: { dir: ws.workDir, collect: false },
    taskId: run.ctx.taskId,
  });
  const report: TestReport = { label: tests.label, verdict: testVerdict(result), result };
  run.checklist.set('test', 'done', `\`${tests.label}\` ${VERDICT_TEXT[report.verdict]}`);
  return report;
}

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
