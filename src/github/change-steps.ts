/**
 * The steps of a GitHub change (change.ts runs them in order): find the branch and clone it, make the
 * change in the sandbox (a script or the agent) and commit it, run the repository's tests in the
 * sandbox (publish.ts then pushes and opens or updates the pull request). A request the agent settles as
a question ends with its answer in the tracking comment and no branch. Each step keeps the tracking comment's
 * checklist current through the ChangeRun it is given.
 */
import type { Config } from '../core/index.js';
import { DeckhandError } from '../core/index.js';
import { linkFileReferences } from './answer-links.js';
import type { ChangeContext, ChangeDeps, ChangeResult, CodeRunner } from './change.js';
import { fenced, scriptFailure, type TestReport, VERDICT_TEXT } from './change-report.js';
import type { Checklist } from './checklist.js';
import { detectTests, testVerdict } from './detect-tests.js';
import {
  changedPaths,
  cloneBranch,
  commitAll,
  createWorkspace,
  headCommit,
  type Remote,
  remoteBranches,
  submodulePaths,
  type Workspace,
} from './git.js';
import type { WorkspaceAgentContext } from './ports.js';
import { defaultBranch, getPull, issueTitle, type PullRequest } from './pulls.js';
import type { RepoSettings } from './repo-settings.js';
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

export interface Target {
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

/** What the request asked for, as the script or the agent settled it: an answer, or a change. */
interface Outcome {
  summary: string;
  intent?: 'answer' | 'change' | undefined;
}

/** What the change step made: the pull request's summary, and the commit (none when nothing changed). */
export interface Change {
  summary: string;
  commit?: string | undefined;
  changed: string[];
}

type RunInSandbox = WorkspaceAgentContext['runInSandbox'];

/** Marks a step as running, shows it, and stops there if the task was cancelled. */
export async function enter(run: ChangeRun, key: string): Promise<void> {
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
  const outcome = await runRequest(run, ws, runInSandbox, scriptSummary);
  if (outcome.intent === 'answer') return await reportAnswer(run, { target, ws }, outcome.summary);
  return await commitChange(run, { target, ws }, trailer, outcome.summary);
}

/** Runs the request's script, or hands the checkout to the agent; the summary for the pull request. */
async function runRequest(
  run: ChangeRun,
  ws: Workspace,
  runInSandbox: RunInSandbox,
  scriptSummary: string,
): Promise<Outcome> {
  const { deps, ctx } = run;
  const { request } = ctx;
  if (request.script) {
    const failed = scriptFailure(
      await runInSandbox({ lang: request.script.lang, code: request.script.code }),
    );
    if (failed) throw failed;
    return { summary: scriptSummary, intent: 'change' };
  }
  if (deps.agent) {
    const answer = await deps.agent({
      workspaceDir: ws.workDir,
      instructions: request.instructions,
      repo: request.fullName,
      number: request.number,
      event: ctx.event,
      taskId: ctx.taskId,
      runInSandbox,
      sink: ctx.sink,
      signal: ctx.signal,
    });
    return { summary: answer.summary.trim() || DEFAULT_SUMMARY, intent: answer.intent };
  }
  throw new DeckhandError('NOT_CONFIGURED', 'No model is configured to make changes.');
}

/**
 * The agent answered a question: the answer (its path:line references linked to the lines at the
 * checked-out commit) is the outcome in the tracking comment; no branch, nothing committed, even if
 * the checkout was changed while looking.
 */
async function reportAnswer(
  run: ChangeRun,
  { target, ws }: Pick<Checkout, 'target' | 'ws'>,
  answer: string,
): Promise<undefined> {
  const { deps, ctx, checklist } = run;
  const edited = (await changedPaths(ws)).length > 0;
  checklist.relabel('change', 'Answer in a sandbox').set('change', 'done', 'answered').skipRest();
  const sha = (await headCommit(ws)).sha;
  const web = `${deps.settings.cloneBaseUrl.replace(/\/+$/, '')}/${ctx.request.fullName}/blob/${sha}`;
  checklist.addOutcome(
    [
      await linkFileReferences(answer, { web, root: ws.workDir }),
      edited ? '_Files I changed while looking were not kept: this was a question, not a change._' : '',
      target.exists ? '' : '_No pull request: nothing was asked to change._',
    ]
      .filter(Boolean)
      .join('\n\n'),
  );
  await run.show();
  await ctx.sink.status('done');
  return undefined;
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
  settings: RepoSettings,
): Promise<TestReport | undefined> {
  await enter(run, 'test');
  const tests = await detectTests(ws.workDir, settings);
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
