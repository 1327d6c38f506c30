/**
 * "@deckhand fix this": clone on the host, change in the sandbox, test in the sandbox, commit and push
 * on the host, open (or update) the pull request, and keep the tracking comment's checklist current.
 *
 * Idempotence: the branch for issue N is `deckhand/N-<slug>`, found again by its `deckhand/N-` prefix
 * (so an edited title does not start a second branch); each commit carries a `Deckhand-Task:` trailer
 * so a retried task does not apply its change twice; the pull request is looked up by branch before
 * one is opened. A later mention on that pull request (or the issue) pushes to the same branch.
 */
import type { ReplySink } from '../core/index.js';
import { type Config, DeckhandError, isDeckhandError, type Logger } from '../core/index.js';
import type { SandboxRunner } from '../runners/index.js';
import type { Store } from '../store/index.js';
import type { GitHubAccess, GitHubOctokitClient } from './access.js';
import { fenced, scriptFailure, type TestReport, testsSection, VERDICT_TEXT } from './change-report.js';
import { Checklist } from './checklist.js';
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
  removeWorkspace,
  submodulePaths,
  type Workspace,
} from './git.js';
import type { WorkspaceAgent } from './ports.js';
import { defaultBranch, getPull, issueTitle, openPull, type PullRequest } from './pulls.js';
import { plainReason, retryableError, STOPPED } from './reason.js';
import { type GitHubRequest, slugOf, subjectOf } from './request.js';

export type CodeRunner = Pick<SandboxRunner, 'run'>;

export interface ChangeDeps {
  access: GitHubAccess;
  settings: Config['github'];
  runner?: CodeRunner | undefined;
  agent?: WorkspaceAgent | undefined;
  store?: Pick<Store, 'recordAudit'> | undefined;
  logger?: Logger | undefined;
}

export interface ChangeContext {
  /** The App installation acting (the webhook's; see GitHubAccess.installationIdFor); ignored with a token. */
  installationId: string;
  request: GitHubRequest;
  sink: ReplySink;
  octokit: GitHubOctokitClient;
  taskId: string;
  signal: AbortSignal;
}

export type ChangeResult =
  | {
      outcome: 'pull_request';
      number: number;
      url: string;
      branch: string;
      commit?: string;
      created: boolean;
    }
  | { outcome: 'no_changes' }
  | { outcome: 'failed'; reason: string };

const BRANCH_PREFIX = 'deckhand/';
const MAX_SUMMARY_CHARS = 40_000;

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

export async function makeChange(deps: ChangeDeps, ctx: ChangeContext): Promise<ChangeResult> {
  const { request, sink, octokit, installationId } = ctx;
  const where = { owner: request.owner, repo: request.repo };
  const runner = deps.runner;
  const script = request.script;
  const checklist = new Checklist(
    `**Working on ${request.onPullRequest ? 'pull request' : 'issue'} #${request.number}** for @${request.requester}`,
    [
      { key: 'clone', label: `Clone ${request.fullName}` },
      {
        key: 'change',
        label: script ? `Run your \`${script.lang}\` script in a sandbox` : 'Make the changes in a sandbox',
      },
      { key: 'test', label: "Run the repository's tests in the sandbox" },
      { key: 'publish', label: 'Commit, push and open a pull request' },
    ],
  );
  await sink.status('working');
  checklist.set('clone', 'running');
  const posted = await sink.post(checklist.render());
  const show = () => sink.update(posted, checklist.render());

  let ws: Workspace | undefined;
  /** Set once the branch is on GitHub: a failure after that can still point at it. */
  let pushed: { branch: string; base: string } | undefined;
  try {
    if (!runner) {
      throw new DeckhandError(
        'NOT_CONFIGURED',
        'Code execution is not available: no Docker sandbox is set up here, and I only change code inside one. Run `deckhand doctor` to see what is missing.',
      );
    }
    const remote: Remote = {
      url: `${deps.settings.cloneBaseUrl.replace(/\/+$/, '')}/${request.owner}/${request.repo}.git`,
      token: await deps.access.gitToken(installationId),
    };
    const target = await findTarget(ctx, remote);
    if (typeof target === 'string') {
      checklist.set('clone', 'skipped').skipRest().addOutcome(target);
      await show();
      await sink.status('done');
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
    ws = await createWorkspace(deps.settings.workspaceDir);
    await cloneBranch(ws, remote, target.cloneFrom);
    checklist.set('clone', 'done').set('change', 'running');
    await show();
    ctx.signal.throwIfAborted();

    // A retried task whose commit already reached the branch does not apply its change twice.
    const trailer = `Deckhand-Task: ${ctx.taskId}`;
    const already = target.exists && (await headCommit(ws)).message.includes(trailer);
    let summary: string;
    let commit: string | undefined;
    let changed: string[] = [];
    const workspace = ws;
    // The checkout is copied in; what the run leaves there is checked and written back by the runner.
    const sealed = await submodulePaths(ws);
    const runInSandbox = (run: { lang: string; code: string; timeoutSeconds?: number }) =>
      runner.run({
        lang: run.lang,
        code: run.code,
        workspace: { dir: workspace.workDir, collect: true, sealed },
        taskId: ctx.taskId,
        ...(run.timeoutSeconds ? { timeoutSeconds: run.timeoutSeconds } : {}),
      });
    const scriptSummary = script
      ? `Ran the \`${script.lang}\` script from the request in Deckhand's sandbox:\n\n${fenced(script.code.trimEnd(), script.lang)}`
      : '';
    if (already) {
      // The earlier try's commit says what it did; the pull request should too.
      summary =
        scriptSummary || (await headCommit(ws)).message.split('\n')[0] || 'Made the requested change.';
      checklist.set('change', 'done', 'already committed by an earlier try');
    } else {
      if (script) {
        const failed = scriptFailure(await runInSandbox({ lang: script.lang, code: script.code }));
        if (failed) throw failed;
        summary = scriptSummary;
      } else if (deps.agent) {
        const answer = await deps.agent({
          workspaceDir: ws.workDir,
          instructions: request.instructions,
          repo: request.fullName,
          number: request.number,
          runInSandbox,
          sink,
          signal: ctx.signal,
        });
        summary = answer.summary.trim() || 'Made the requested change.';
      } else {
        throw new DeckhandError('NOT_CONFIGURED', 'No model is configured to make changes.');
      }
      changed = await changedPaths(ws);
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
        commit = await commitAll(ws, authorOf(deps.settings), message);
      } else if (!target.exists) {
        checklist.set('change', 'done', 'nothing changed').skipRest();
        checklist.addOutcome(
          'The request ran, but it changed no file, so there is nothing to open a pull request for.',
        );
        await show();
        await sink.status('done');
        return { outcome: 'no_changes' };
      } else {
        checklist.set('change', 'done', 'nothing changed');
      }
    }
    checklist.set('test', 'running');
    await show();
    ctx.signal.throwIfAborted();

    const tests = await detectTests(ws.workDir);
    let report: TestReport | undefined;
    if (tests) {
      // The tests get a copy of the committed checkout; nothing they write comes back.
      const result = await runner.run({
        lang: 'bash',
        code: tests.script,
        workspace: { dir: ws.workDir, collect: false },
        taskId: ctx.taskId,
      });
      report = { label: tests.label, verdict: testVerdict(result), result };
      checklist.set('test', 'done', `\`${tests.label}\` ${VERDICT_TEXT[report.verdict]}`);
    } else {
      checklist.set('test', 'skipped', 'no test command found');
    }
    checklist.set('publish', 'running');
    await show();
    ctx.signal.throwIfAborted();

    // A fresh token: the tests may have taken a while.
    remote.token = await deps.access.gitToken(installationId);
    await pushBranch(ws, remote, target.branch);
    pushed = { branch: target.branch, base: target.base };
    const listed = changed.slice(0, 50).map((p) => `\`${p}\``);
    if (changed.length > listed.length) listed.push(`and ${changed.length - listed.length} more`);
    const changedList = listed.length ? `\n\n**Changed:** ${listed.join(', ')}` : '';
    const body = [
      `Fixes #${target.issue}`,
      // GitHub caps a body at 65 536 characters; the rest of the body needs a few thousand.
      (summary.length > MAX_SUMMARY_CHARS ? `${summary.slice(0, MAX_SUMMARY_CHARS)}\n… (cut)` : summary) +
        changedList,
      `Requested by @${request.requester}${request.url ? ` in ${request.url}` : ''}.`,
      testsSection(report),
      `---\nMade by Deckhand. Mention @${botLoginOf(deps.settings)} on this pull request to ask for more changes.`,
    ].join('\n\n');
    const { pull, created } = target.pull
      ? { pull: target.pull, created: false }
      : await openPull(octokit, where, {
          title: subjectOf(target.title || request.instructions, `Changes for #${target.issue}`),
          body,
          head: target.branch,
          base: target.base,
          draft: deps.settings.draftPullRequests,
        });
    const pushedText = commit
      ? `Pushed ${commit.slice(0, 7)} to \`${target.branch}\``
      : `Branch \`${target.branch}\` is up to date`;
    checklist.set('publish', 'done', created ? `opened #${pull.number}` : `#${pull.number}`);
    checklist.addOutcome(
      `${created ? `Opened pull request #${pull.number}` : `${pushedText}; pull request #${pull.number}`}: ${pull.html_url}`,
    );
    if (!created && commit) checklist.addOutcome(testsSection(report));
    await show();
    await sink.status('done');
    await deps.store
      ?.recordAudit({
        actor: `github:${request.requester}`,
        action: created ? 'github.pull_request.open' : 'github.pull_request.push',
        target: `${request.fullName}#${pull.number}`,
        outcome: 'succeeded',
        detail: { branch: target.branch, commit, task: ctx.taskId },
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
  } catch (error) {
    const { message, retryable } = ctx.signal.aborted ? STOPPED : plainReason(error);
    if (!isDeckhandError(error)) deps.logger?.warn({ err: error }, 'GitHub change failed');
    checklist.set(checklist.running ?? 'publish', 'failed').skipRest();
    checklist.addOutcome(
      `**I could not finish:** ${message}${retryable ? ' I will try again shortly.' : ''}`,
    );
    if (pushed && !retryable) {
      const web = deps.settings.cloneBaseUrl.replace(/\/+$/, '');
      checklist.addOutcome(
        `The branch \`${pushed.branch}\` is pushed: open the pull request by hand at ${web}/${request.fullName}/compare/${pushed.base}...${pushed.branch}?expand=1`,
      );
    }
    await show().catch(() => undefined);
    await sink.status('failed').catch(() => undefined);
    if (retryable) throw retryableError(error, message);
    return { outcome: 'failed', reason: message };
  } finally {
    if (ws) {
      await removeWorkspace(ws).catch((error: unknown) =>
        deps.logger?.warn({ err: error, workspace: ws?.root }, 'could not remove a GitHub workspace'),
      );
    }
  }
}
