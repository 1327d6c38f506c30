/**
 * The chat commands about who may do what: `link github` / `unlink github` (prove a GitHub login
 * through GitHub's device flow), `whoami`, `role @user <role>` and `roles`, `repos` /
 * `repos connect|disconnect owner/name`, and `audit` (this workspace's entries, for admins). Each
 * decision is the one policy's (src/core/policy.ts), asked through the router's Access; each effect
 * leaves an audit entry.
 */
import {
  type Access,
  isDeckhandError,
  NO_WORKSPACE_ID,
  type NormalizedEvent,
  type ReplySink,
  ROLES,
  type Role,
  roleSchema,
  workspaceKeyOf,
} from '../core/index.js';
import type { Store } from '../store/index.js';

/** GitHub's device flow, as `deckhand start` wires it (src/github githubLinker). */
export interface GithubLinker {
  /** Asks GitHub for a code to show; `finish` waits for the person to enter it and proves the login. */
  start(): Promise<{
    userCode: string;
    verificationUri: string;
    expiresAt: Date;
    finish(signal: AbortSignal): Promise<{ login: string; githubId: number }>;
  }>;
}

export interface AccessCommandDeps {
  store: Store;
  access: Access;
  linker?: GithubLinker | undefined;
}

export interface AccessCommandRun {
  event: NormalizedEvent;
  sink: ReplySink;
  signal: AbortSignal;
}

const REPO = /^[\w.-]+\/[\w.-]+$/;
const NOT_LINKABLE =
  'Linking GitHub accounts is not set up here: an operator sets GITHUB_CLIENT_ID (the GitHub App’s client id, with Device Flow enabled) and restarts Deckhand.';
const IN_A_SERVER =
  'Roles and repositories belong to a workspace: say this in a channel, not a direct message.';

const actorOf = (event: NormalizedEvent) => `${event.platform}:${event.userId}`;
const workspaceOf = (event: NormalizedEvent) => ({
  platform: event.platform,
  workspaceId: event.workspaceId,
});
const accountOf = (event: NormalizedEvent) => ({ ...workspaceOf(event), userId: event.userId });

function audit(
  deps: AccessCommandDeps,
  event: NormalizedEvent,
  entry: { action: string; target: string; detail?: Record<string, unknown> },
): Promise<unknown> {
  return deps.store.recordAudit({
    actor: actorOf(event),
    outcome: 'succeeded',
    workspace: workspaceKeyOf(event),
    ...entry,
  });
}

async function whoami(deps: AccessCommandDeps, event: NormalizedEvent): Promise<string> {
  const who = await deps.access.requester(event);
  const name = event.userName ?? event.userId;
  const github =
    event.platform === 'github'
      ? ''
      : who.githubLogin
        ? ` GitHub: @${who.githubLogin} (linked; \`unlink github\` removes it).`
        : ' GitHub: not linked (say `link github`).';
  return `You are ${name} on ${event.platform} (workspace ${event.workspaceId}). Role: ${who.role}.${github}`;
}

async function link(deps: AccessCommandDeps, run: AccessCommandRun, words: string[]): Promise<string> {
  const { event, sink } = run;
  if ((words[0] ?? 'github').toLowerCase() !== 'github') return 'I can link a GitHub account: `link github`.';
  if (event.platform === 'github' || event.platform === 'terminal') {
    return 'There is nothing to link here: on GitHub you are your login, and the terminal is the operator.';
  }
  if (!deps.linker) return NOT_LINKABLE;
  let proven: { login: string; githubId: number };
  try {
    const started = await deps.linker.start();
    const minutes = Math.max(1, Math.round((started.expiresAt.getTime() - Date.now()) / 60_000));
    await sink.post(
      `To link your GitHub account, open ${started.verificationUri} and enter the code \`${started.userCode}\` within ${minutes} minutes. I will confirm here.`,
    );
    proven = await started.finish(run.signal);
  } catch (error) {
    // Declined, expired, not set up, GitHub unreachable: said once; a retry would post a new code.
    if (run.signal.aborted || !isDeckhandError(error)) throw error;
    return error.userMessage;
  }
  await deps.store.linkGithub(accountOf(event), proven);
  await audit(deps, event, { action: 'identity.link', target: `github:${proven.login}` });
  return `Linked: you are @${proven.login} on GitHub. Repository tools now act with your GitHub access.`;
}

async function unlink(deps: AccessCommandDeps, event: NormalizedEvent): Promise<string> {
  const removed = await deps.store.unlinkGithub(accountOf(event));
  if (!removed) return 'Your account is not linked to GitHub.';
  await audit(deps, event, { action: 'identity.unlink', target: 'github' });
  return 'Unlinked: I no longer act with your GitHub access.';
}

/** The user a `role` command names: a platform mention (`<@U1>`) or a bare id. */
function targetUser(event: NormalizedEvent, word: string | undefined): string | undefined {
  const mentioned = event.mentions[0];
  if (mentioned) return mentioned;
  const bare = word?.replace(/^<@!?|>$/g, '').replace(/^@/, '');
  return bare || undefined;
}

async function grantRole(deps: AccessCommandDeps, event: NormalizedEvent, words: string[]): Promise<string> {
  if (event.workspaceId === NO_WORKSPACE_ID) return IN_A_SERVER;
  const roleWord = words.find((w) => roleSchema.safeParse(w.toLowerCase()).success)?.toLowerCase();
  const userId = targetUser(
    event,
    words.find((w) => w.toLowerCase() !== roleWord),
  );
  if (!userId || !roleWord) return `Usage: \`role @someone ${ROLES.join('|')}\`.`;
  const role = roleWord as Role;
  const fixed = deps.access.configuredRole(event, userId);
  if (fixed) return `${userId}'s role (${fixed}) is set in Deckhand's config; an operator changes it there.`;
  const decision = await deps.access.check(event, 'role.grant', { grant: { role, userId } });
  if (!decision.allowed) return decision.reason;
  await deps.store.setRole(workspaceOf(event), userId, role, actorOf(event));
  await audit(deps, event, { action: 'role.grant', target: `${event.platform}:${userId}`, detail: { role } });
  return `${userId} is now ${role} in this workspace.`;
}

async function listRoles(deps: AccessCommandDeps, event: NormalizedEvent): Promise<string> {
  const granted = await deps.store.listRoles(workspaceOf(event));
  if (granted.length === 0) return 'No roles granted here yet: everyone has the default role.';
  return ['**Roles**', ...granted.map((g) => `• ${g.userId}: ${g.role} (by ${g.grantedBy})`)].join('\n');
}

async function repos(deps: AccessCommandDeps, event: NormalizedEvent, words: string[]): Promise<string> {
  const [sub = '', repo = ''] = words;
  const verb = sub.toLowerCase();
  if (verb === '' || verb === 'list') {
    const connected = await deps.store.connectedRepos(workspaceOf(event));
    return connected.length
      ? `Connected repositories: ${connected.join(', ')}.`
      : 'No repositories are connected here yet: an admin says `repos connect owner/name`.';
  }
  if (verb !== 'connect' && verb !== 'disconnect')
    return 'Usage: `repos`, `repos connect|disconnect owner/name`.';
  if (event.workspaceId === NO_WORKSPACE_ID) return IN_A_SERVER;
  if (!REPO.test(repo)) return `"${repo}" is not a repository; write it as owner/name.`;
  const action = verb === 'connect' ? 'repos.connect' : 'repos.disconnect';
  const decision = await deps.access.check(event, action, { repo });
  if (!decision.allowed) return decision.reason;
  const changed =
    verb === 'connect'
      ? await deps.store.connectRepo(workspaceOf(event), repo, actorOf(event))
      : await deps.store.disconnectRepo(workspaceOf(event), repo);
  if (changed) await audit(deps, event, { action, target: repo.toLowerCase() });
  if (verb === 'connect')
    return changed ? `Connected ${repo} to this workspace.` : `${repo} was already connected.`;
  return changed ? `Disconnected ${repo}.` : `${repo} was not connected.`;
}

async function readAudit(deps: AccessCommandDeps, event: NormalizedEvent, words: string[]): Promise<string> {
  const decision = await deps.access.check(event, 'audit.read');
  if (!decision.allowed) return decision.reason;
  const limit = Math.min(50, Math.max(1, Number.parseInt(words[0] ?? '', 10) || 20));
  // Only this workspace's entries: another workspace's trail is never shown here.
  const entries = await deps.store.listAudit({ workspace: workspaceKeyOf(event), limit });
  if (entries.length === 0) return 'The audit log of this workspace is empty.';
  return [
    `**Audit log** (newest ${entries.length})`,
    ...entries.map(
      (e) => `• ${e.at.toISOString().slice(0, 16)}Z ${e.actor} ${e.action} ${e.target} ${e.outcome}`,
    ),
  ].join('\n');
}

export type AccessCommandName = 'link' | 'unlink' | 'whoami' | 'role' | 'roles' | 'repos' | 'audit';

/** Runs one access command; returns the reply. */
export function handleAccessCommand(
  deps: AccessCommandDeps,
  run: AccessCommandRun,
  command: { name: AccessCommandName; words: string[] },
): Promise<string> {
  const { event } = run;
  switch (command.name) {
    case 'link':
      return link(deps, run, command.words);
    case 'unlink':
      return unlink(deps, event);
    case 'whoami':
      return whoami(deps, event);
    case 'role':
      return grantRole(deps, event, command.words);
    case 'roles':
      return listRoles(deps, event);
    case 'repos':
      return repos(deps, event, command.words);
    case 'audit':
      return readAudit(deps, event, command.words);
  }
}
