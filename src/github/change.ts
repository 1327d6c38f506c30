/**
 * "@deckhand fix this": clone on the host, change in the sandbox, test in the sandbox, commit and push
 * on the host, open (or update) the pull request, and keep the tracking comment's checklist current.
 * The steps are in change-steps.ts; this file runs them in order and reports a failure.
 *
 * Idempotence: the branch for issue N is `deckhand/N-<slug>`, found again by its `deckhand/N-` prefix
 * (so an edited title does not start a second branch); each commit carries a `Deckhand-Task:` trailer
 * so a retried task does not apply its change twice; the pull request is looked up by branch before
 * one is opened. A later mention on that pull request (or the issue) pushes to the same branch.
 */
import type { NormalizedEvent, ReplySink } from '../core/index.js';
import { type Config, DeckhandError, isDeckhandError, type Logger } from '../core/index.js';
import type { DependencyInstaller, SandboxRunner } from '../runners/index.js';
import type { Store } from '../store/index.js';
import type { GitHubAccess, GitHubOctokitClient } from './access.js';
import { applyChange, type ChangeRun, prepareCheckout, runTests } from './change-steps.js';
import { Checklist } from './checklist.js';
import { conversationText } from './context.js';
import { removeWorkspace } from './git.js';
import type { WorkspaceAgent } from './ports.js';
import { publish } from './publish.js';
import { plainReason, retryableError, STOPPED } from './reason.js';
import { readRepoSettings } from './repo-settings.js';
import type { GitHubRequest } from './request.js';
import { installDependencies } from './setup-step.js';

export { botLoginOf } from './change-steps.js';

export type CodeRunner = Pick<SandboxRunner, 'run'>;

export interface ChangeDeps {
  access: GitHubAccess;
  settings: Config['github'];
  runner?: CodeRunner | undefined;
  agent?: WorkspaceAgent | undefined;
  /** Installs dependencies through the registry proxy before the change; absent: installs are off. */
  installer?: DependencyInstaller | undefined;
  store?: Pick<Store, 'recordAudit'> | undefined;
  logger?: Logger | undefined;
}

export interface ChangeContext {
  /** The App installation acting (the webhook's; see GitHubAccess.installationIdFor); ignored with a token. */
  installationId: string;
  /** The mention (or label, or assignment) that asked: whose request the agent carries out. */
  event: NormalizedEvent;
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

export async function makeChange(deps: ChangeDeps, ctx: ChangeContext): Promise<ChangeResult> {
  const run = await startTracking(withConversation(deps, ctx), ctx);
  try {
    const runner = deps.runner;
    if (!runner) {
      throw new DeckhandError(
        'NOT_CONFIGURED',
        'Code execution is not available: no Docker sandbox is set up here, and I only change code inside one. Run `deckhand doctor` to see what is missing.',
      );
    }
    const checkout = await prepareCheckout(run);
    if ('outcome' in checkout) return checkout;
    // Read once, before any sandbox run could change the file: a bad one stops the change, saying why.
    const settings = await readRepoSettings(checkout.ws.workDir);
    await installDependencies(run, deps.installer, checkout, settings);
    const change = await applyChange(run, runner, checkout);
    if (!change) return { outcome: 'no_changes' };
    const report = await runTests(run, runner, checkout.ws, settings);
    return await publish(run, checkout, change, report);
  } catch (error) {
    return await reportFailure(run, error);
  } finally {
    await cleanUp(run);
  }
}

/**
 * The agent given the issue or pull request, its comments and its diff as quoted context, read once
 * when the agent is about to run (a script needs none of it, so none is read for one).
 */
function withConversation(deps: ChangeDeps, ctx: ChangeContext): ChangeDeps {
  const agent = deps.agent;
  if (!agent) return deps;
  return {
    ...deps,
    agent: async (agentCtx) =>
      agent({
        ...agentCtx,
        conversation: await conversationText(ctx.octokit, ctx.request, {
          logger: deps.logger,
          signal: ctx.signal,
        }),
      }),
  };
}

/** Posts the tracking comment with its checklist, the clone step running. */
async function startTracking(deps: ChangeDeps, ctx: ChangeContext): Promise<ChangeRun> {
  const { request, sink } = ctx;
  const script = request.script;
  const checklist = new Checklist(
    `**Working on ${request.onPullRequest ? 'pull request' : 'issue'} #${request.number}** for @${request.requester}`,
    [
      { key: 'clone', label: `Clone ${request.fullName}` },
      { key: 'setup', label: 'Install dependencies' },
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
  return { deps, ctx, checklist, show: () => sink.update(posted, checklist.render()) };
}

/** Says why in plain words (with a link to a pushed branch), or throws to be retried. */
async function reportFailure(run: ChangeRun, error: unknown): Promise<ChangeResult> {
  const { deps, ctx, checklist } = run;
  const { message, retryable } = ctx.signal.aborted ? STOPPED : plainReason(error);
  if (!isDeckhandError(error)) deps.logger?.warn({ err: error }, 'GitHub change failed');
  checklist.set(checklist.running ?? 'publish', 'failed').skipRest();
  checklist.addOutcome(`**I could not finish:** ${message}${retryable ? ' I will try again shortly.' : ''}`);
  if (run.pushed && !retryable) {
    const web = deps.settings.cloneBaseUrl.replace(/\/+$/, '');
    checklist.addOutcome(
      `The branch \`${run.pushed.branch}\` is pushed: open the pull request by hand at ${web}/${ctx.request.fullName}/compare/${run.pushed.base}...${run.pushed.branch}?expand=1`,
    );
  }
  await run.show().catch(() => undefined);
  await ctx.sink.status('failed').catch(() => undefined);
  if (retryable) throw retryableError(error, message);
  return { outcome: 'failed', reason: message };
}

async function cleanUp(run: ChangeRun): Promise<void> {
  const { ws } = run;
  if (!ws) return;
  await removeWorkspace(ws).catch((error: unknown) =>
    run.deps.logger?.warn({ err: error, workspace: ws.root }, 'could not remove a GitHub workspace'),
  );
}
