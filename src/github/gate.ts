/**
 * The GitHub door for commands that act: `run` (code in a sandbox), `cancel` and `digest` need write
 * access to the repository the comment was written on, the same check a change or a review needs.
 * Without it anyone who can comment on a public repository could run code on Deckhand's engine.
 * The router asks this gate before such a command; a refusal is one short reply and an audit entry.
 */
import type { NormalizedEvent } from '../core/index.js';
import { DeckhandError, isDeckhandError, type Logger } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { GitHubAccess, GitHubOctokitClient } from './access.js';
import { mayWrite, repositoryRole } from './permission.js';
import { plainReason } from './reason.js';

export type GatedAction = 'run' | 'cancel' | 'digest' | 'change' | 'review';

export type GateDecision = { allowed: true } | { allowed: false; reason: string };

export interface WriteCheck {
  role: string;
  octokit: GitHubOctokitClient;
}

/** `owner/repo` of a GitHub event (the channel), or undefined when it is not one. */
function repositoryOf(event: NormalizedEvent): { owner: string; repo: string } | undefined {
  const [owner, repo, extra] = (event.replyTo.repo ?? event.channelId).split('/');
  return owner && repo && extra === undefined ? { owner, repo } : undefined;
}

/** The requester's role on the event's repository, asked of GitHub with the installation's client. */
export async function requesterRole(access: GitHubAccess, event: NormalizedEvent): Promise<WriteCheck> {
  const where = repositoryOf(event);
  if (!where) throw new DeckhandError('BAD_REQUEST', `"${event.channelId}" is not a GitHub repository.`);
  try {
    const octokit = await access.octokit(event.workspaceId);
    const role = await repositoryRole(octokit, where.owner, where.repo, event.userName ?? event.userId);
    return { role, octokit };
  } catch (error) {
    // Octokit's errors carry no `retryable`: say what happened, and whether a retry may help.
    if (isDeckhandError(error)) throw error;
    const { message, retryable } = plainReason(error);
    throw new DeckhandError('UPSTREAM_FAILED', `I could not check your access: ${message}`, {
      cause: error,
      retryable,
    });
  }
}

export function writeRefusalText(user: string, repo: string, action: GatedAction, role: string): string {
  const what = action === 'run' ? 'run code' : action === 'digest' ? 'manage digests' : `\`${action}\``;
  return `Sorry @${user}, I only ${what} for people with write access to ${repo} (yours: ${role}).`;
}

export interface GitHubGateDeps {
  /** Absent when no App or token is configured: GitHub events are then refused, never waved through. */
  access?: GitHubAccess | undefined;
  store?: Pick<Store, 'recordAudit'> | undefined;
  logger?: Logger | undefined;
}

/**
 * The gate the router asks before `run`, `cancel` and `digest`. Events from other platforms are not
 * this gate's to judge (the next policy work decides those) and pass.
 */
export function createGitHubActionGate(deps: GitHubGateDeps) {
  return async (event: NormalizedEvent, action: GatedAction): Promise<GateDecision> => {
    if (event.platform !== 'github') return { allowed: true };
    const user = event.userName ?? event.userId;
    const repo = event.replyTo.repo ?? event.channelId;
    if (!deps.access) {
      return {
        allowed: false,
        reason: `I cannot check who may ${action} in ${repo}: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_TOKEN) and restart Deckhand.`,
      };
    }
    const { role } = await requesterRole(deps.access, event);
    if (mayWrite(role)) return { allowed: true };
    deps.logger?.info({ repo, user, role, action }, 'refused: no write access');
    await deps.store
      ?.recordAudit({
        actor: `github:${user}`,
        action: `github.${action}`,
        target: `${repo}#${event.threadId}`,
        outcome: 'denied',
        detail: { role },
      })
      .catch((error: unknown) => deps.logger?.warn({ err: error }, 'could not record the audit entry'));
    return { allowed: false, reason: writeRefusalText(user, repo, action, role) };
  };
}

export type GitHubActionGate = ReturnType<typeof createGitHubActionGate>;
