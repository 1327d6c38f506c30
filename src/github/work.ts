/**
 * The GitHub task handler the command router calls for a mention that is not a command: asks the
 * one policy whether the author may write to the repository, then reviews the pull request or makes
 * the change as a pull request. Everything the user sees goes into the tracking comment (the event's
 * ReplySink).
 */
import {
  type Access,
  type ApprovalPort,
  awaitApproval,
  type Config,
  type Logger,
  type NormalizedEvent,
  type ReplySink,
} from '../core/index.js';
import type { DependencyInstaller } from '../runners/index.js';
import type { Store } from '../store/index.js';
import type { GitHubAccess } from './access.js';
import { botLoginOf, type CodeRunner, makeChange } from './change.js';
import type { Reviewer, WorkspaceAgent } from './ports.js';
import { type GitHubRequest, readRequest } from './request.js';
import { reviewPullRequest } from './review.js';

export interface GitHubWorkDeps {
  access: GitHubAccess;
  settings: Config['github'];
  /** The Docker sandbox; without it no change is made. */
  runner?: CodeRunner | undefined;
  /** Installs dependencies through the registry proxy before a change; absent: installs are off. */
  installer?: DependencyInstaller | undefined;
  /** Makes changes from free-form instructions (src/agents); without it only scripts in the mention do. */
  agent?: WorkspaceAgent | undefined;
  /** Writes reviews (src/agents); without it `review` says how to configure a model. */
  reviewer?: Reviewer | undefined;
  store?: Pick<Store, 'recordAudit'> | undefined;
  logger?: Logger | undefined;
  /** The one policy: a change or review is `repo.write` for its author (on GitHub: write access). */
  policy: Access;
  /** Where a change the policy wants approved waits (`access.approvals['repo.write']`). */
  approvals?: { port: ApprovalPort; timeoutMs: number } | undefined;
}

export type GitHubWorkContext = { signal: AbortSignal; taskId: string };

export function noModelForChangesText(bot: string): string {
  return [
    'I can’t make that change yet: no model is configured here.',
    '',
    'Either set `ANTHROPIC_API_KEY` (or `OPENAI_API_KEY`, or `OPENAI_BASE_URL` for a compatible endpoint) and restart Deckhand, or put the change in a script and I will run it in a sandbox on a branch and open a pull request, for example:',
    '',
    '~~~',
    `@${bot} fix the typo`,
    '```bash',
    "sed -i 's/teh/the/' README.md",
    '```',
    '~~~',
  ].join('\n');
}

export const NO_MODEL_FOR_REVIEW_TEXT =
  'I can’t review yet: no model is configured here. Set `ANTHROPIC_API_KEY` (or `OPENAI_API_KEY`, or `OPENAI_BASE_URL` for a compatible endpoint) and restart Deckhand.';

/**
 * A change or review is `repo.write` for its author, decided by the one policy (on GitHub: write
 * access to the repository); when the policy asks for an approval, the change waits for it here,
 * before anything is cloned.
 */
async function mayProceed(
  deps: GitHubWorkDeps,
  event: NormalizedEvent,
  sink: ReplySink,
  ctx: GitHubWorkContext,
  request: GitHubRequest,
): Promise<{ outcome: string; role?: string }> {
  const decision = await deps.policy.check(event, 'repo.write', { repo: request.fullName });
  if (!decision.allowed) {
    await sink.post(decision.reason);
    return { outcome: 'refused' };
  }
  if (!decision.approvalBy) return { outcome: 'allowed' };
  if (!deps.approvals) {
    await sink.post('This change needs an approval, and approvals are not set up here.');
    return { outcome: 'refused' };
  }
  const approval = await awaitApproval(deps.approvals.port, {
    event,
    sink,
    taskId: ctx.taskId,
    action: 'repo.write',
    approverRole: decision.approvalBy,
    summary: `${request.intent} in ${request.fullName} (#${request.number}) as @${request.requester} asked`,
    timeoutMs: deps.approvals.timeoutMs,
    signal: ctx.signal,
  });
  return { outcome: approval.verdict === 'approved' ? 'allowed' : approval.verdict };
}

export function createGitHubWork(deps: GitHubWorkDeps) {
  const log = deps.logger?.child({ part: 'github' });
  const bot = botLoginOf(deps.settings);

  return async (event: NormalizedEvent, sink: ReplySink, ctx: GitHubWorkContext): Promise<unknown> => {
    const request = readRequest(event);
    if (request.intent === 'unsupported') {
      await sink.post('I can only work on issues and pull requests, not discussions.');
      return { outcome: 'unsupported' };
    }
    const allowed = await mayProceed(deps, event, sink, ctx, request);
    if (allowed.outcome !== 'allowed') return allowed;
    const octokit = await deps.access.octokit(event.workspaceId);
    if (request.intent === 'review') {
      if (!request.onPullRequest) {
        await sink.post('`review` works on pull requests: mention me on one.');
        return { outcome: 'unsupported' };
      }
      if (!deps.reviewer) {
        await sink.post(NO_MODEL_FOR_REVIEW_TEXT);
        return { outcome: 'no_model' };
      }
      return reviewPullRequest(
        deps.reviewer,
        { request, event, taskId: ctx.taskId, sink, octokit, signal: ctx.signal },
        log,
      );
    }
    if (!request.script && !deps.agent) {
      await sink.post(noModelForChangesText(bot));
      return { outcome: 'no_model' };
    }
    return makeChange(
      {
        access: deps.access,
        settings: deps.settings,
        runner: deps.runner,
        agent: deps.agent,
        installer: deps.installer,
        store: deps.store,
        logger: log,
      },
      {
        installationId: event.workspaceId,
        event,
        request,
        sink,
        octokit,
        taskId: ctx.taskId,
        signal: ctx.signal,
      },
    );
  };
}

export type GitHubWorkHandler = ReturnType<typeof createGitHubWork>;
