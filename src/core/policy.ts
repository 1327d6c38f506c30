/**
 * Who may do what: the one decision every action goes through (chat commands, the agent's tools,
 * GitHub mentions, digests, MCP servers, role grants, repository connections). It is a pure
 * function of facts about the requester (their role in the workspace, their linked GitHub login and
 * that login's permission on the repository), the repository's connection to the workspace, and the
 * operator's rules; never of message text or model output, so a prompt-injected turn can only do
 * what the person who asked may do. src/core/access.ts gathers the facts; tests drive this table.
 */
import { z } from 'zod';

export const ROLES = ['guest', 'member', 'admin', 'owner'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** GitHub's repository permission levels, weakest first. */
export const GITHUB_PERMISSIONS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type GitHubPermission = (typeof GITHUB_PERMISSIONS)[number];

export type PolicyAction =
  | 'ask'
  | 'run'
  | 'cancel'
  | 'digest.add'
  | 'digest.change'
  | 'digest.list'
  | 'repo.read'
  | 'repo.write'
  | 'mcp'
  | 'role.grant'
  | 'repos.connect'
  | 'repos.disconnect'
  | 'audit.read'
  | 'approve';

/** Actions whose least role the operator sets (`access.minRole`). */
export const RANKED_ACTIONS = [
  'ask',
  'run',
  'cancel.any',
  'digest.add',
  'digest.change',
  'repo.read',
  'repo.write',
  'role.grant',
  'repos.connect',
  'audit.read',
] as const;
export type RankedAction = (typeof RANKED_ACTIONS)[number];

export const DEFAULT_MIN_ROLE: Record<RankedAction, Role> = {
  ask: 'guest',
  run: 'member',
  'cancel.any': 'admin',
  'digest.add': 'member',
  'digest.change': 'member',
  'repo.read': 'member',
  'repo.write': 'member',
  'role.grant': 'admin',
  'repos.connect': 'admin',
  'audit.read': 'admin',
};

export interface PolicyRules {
  minRole: Record<RankedAction, Role>;
  /** When non-empty, the agent's code tool runs only in these `platform:channelId` / for these `platform:userId`. */
  codeRun: { channels: string[]; users: string[] };
  /** Actions that wait for a person of this role (or above) to approve them. */
  approvals: Partial<Record<'run' | 'repo.write', Role>>;
}

export interface Requester {
  platform: string;
  workspaceId: string;
  userId: string;
  channelId: string;
  role: Role;
  /** The GitHub login this account is linked to (on GitHub, the actor itself). */
  githubLogin?: string;
  /** On GitHub: the actor's permission on the event's repository, which their role comes from. */
  githubPermission?: GitHubPermission;
}

/** The facts an action's target adds. */
export interface PolicyTarget {
  /** The repository touched, its connection to the requester's workspace, the requester's permission there. */
  repo?: { name: string; connected: boolean; permission: GitHubPermission };
  /** Every repository of a digest: the ones not connected to the workspace. */
  unconnectedRepos?: string[];
  /** The task to cancel: its workspace (`platform:workspaceId`) and who asked for it. */
  task?: { workspace: string; channelId?: string; ownerId?: string };
  mcp?: { server: string; roles: Role[]; channels: string[] };
  /** `role @user <role>`: the role granted and the target's current one. */
  grant?: { role: Role; current: Role };
  /** Approve or deny: the role the approval asks for and who requested the action. */
  approval?: { role: Role; requesterId: string };
  /** The code tool (not the `run` command): models.codeRun narrows it. */
  viaTool?: boolean;
}

export type PolicyRefusal = {
  allowed: false;
  /** One line: what is missing and how to get it. */
  reason: string;
  missing: 'role' | 'link' | 'connection' | 'permission' | 'workspace' | 'channel' | 'self';
};
export type PolicyDecision = { allowed: true; approvalBy?: Role } | PolicyRefusal;

const ALLOW: PolicyDecision = { allowed: true };

export function rankOf(role: Role): number {
  return ROLES.indexOf(role);
}

export function atLeast(role: Role, least: Role): boolean {
  return rankOf(role) >= rankOf(least);
}

export function permissionAtLeast(have: GitHubPermission, need: GitHubPermission): boolean {
  return GITHUB_PERMISSIONS.indexOf(have) >= GITHUB_PERMISSIONS.indexOf(need);
}

/** A GitHub actor's workspace role on a repository: writers are members, admins admins. */
export function roleFromPermission(permission: GitHubPermission): Role {
  if (permission === 'admin') return 'admin';
  return permissionAtLeast(permission, 'write') ? 'member' : 'guest';
}

const WHAT: Record<PolicyAction | 'cancel.any', string> = {
  ask: 'ask me questions',
  run: 'run code',
  cancel: '`cancel`',
  'cancel.any': "cancel other people's tasks",
  'digest.add': 'manage digests',
  'digest.change': 'manage digests',
  'digest.list': 'list digests',
  'repo.read': 'read repositories',
  'repo.write': 'change repositories',
  mcp: 'use this tool server',
  'role.grant': 'grant roles',
  'repos.connect': 'connect repositories',
  'repos.disconnect': 'disconnect repositories',
  'audit.read': 'read the audit log',
  approve: 'approve this',
};

function needRole(requester: Requester, least: Role, what: string): PolicyRefusal | undefined {
  if (atLeast(requester.role, least)) return undefined;
  if (requester.githubPermission !== undefined) {
    // On GitHub a role is the repository permission: say which one is missing.
    const need = least === 'admin' || least === 'owner' ? 'admin' : 'write';
    return {
      allowed: false,
      missing: 'permission',
      reason: `Sorry @${requester.githubLogin ?? requester.userId}, I only ${what} for people with ${need} access to ${requester.channelId} (yours: ${requester.githubPermission}).`,
    };
  }
  return {
    allowed: false,
    missing: 'role',
    reason: `You need the ${least} role in this workspace to ${what} (yours: ${requester.role}); a workspace admin can grant it with \`role @you ${least}\`.`,
  };
}

function needLink(requester: Requester): PolicyRefusal | undefined {
  if (requester.githubLogin) return undefined;
  return {
    allowed: false,
    missing: 'link',
    reason: 'Link your GitHub account first: say `link github`.',
  };
}

function needConnected(repo: string, connected: boolean): PolicyRefusal | undefined {
  if (connected) return undefined;
  return {
    allowed: false,
    missing: 'connection',
    reason: `${repo} is not connected to this workspace; a workspace admin can connect it with \`repos connect ${repo}\`.`,
  };
}

function needPermission(target: PolicyTarget, need: GitHubPermission): PolicyRefusal | undefined {
  const repo = target.repo;
  if (!repo) return { allowed: false, missing: 'permission', reason: 'Name the repository (owner/name).' };
  if (permissionAtLeast(repo.permission, need)) return undefined;
  const yours = repo.permission === 'none' ? 'no access' : `${repo.permission} access`;
  return {
    allowed: false,
    missing: 'permission',
    reason: `You need ${need} access to ${repo.name} on GitHub for this (yours: ${yours}).`,
  };
}

/** The first refusal among checks, or undefined when every check passes. */
function firstRefusal(...checks: Array<() => PolicyRefusal | undefined>): PolicyRefusal | undefined {
  for (const check of checks) {
    const refusal = check();
    if (refusal) return refusal;
  }
  return undefined;
}

function withApproval(rules: PolicyRules, action: 'run' | 'repo.write'): PolicyDecision {
  const role = rules.approvals[action];
  return role ? { allowed: true, approvalBy: role } : ALLOW;
}

function decideRepo(
  action: 'repo.read' | 'repo.write',
  requester: Requester,
  target: PolicyTarget,
  rules: PolicyRules,
): PolicyDecision {
  const repo = target.repo;
  const refusal = firstRefusal(
    () => needRole(requester, rules.minRole[action], WHAT[action]),
    () => needLink(requester),
    () => (repo ? needConnected(repo.name, repo.connected) : undefined),
    () => needPermission(target, action === 'repo.write' ? 'write' : 'read'),
  );
  if (refusal) return refusal;
  return action === 'repo.write' ? withApproval(rules, 'repo.write') : ALLOW;
}

function decideRun(requester: Requester, target: PolicyTarget, rules: PolicyRules): PolicyDecision {
  const refusal = needRole(requester, rules.minRole.run, WHAT.run);
  if (refusal) return refusal;
  const { channels, users } = rules.codeRun;
  if (target.viaTool && (channels.length > 0 || users.length > 0)) {
    const listed =
      channels.includes(`${requester.platform}:${requester.channelId}`) ||
      users.includes(`${requester.platform}:${requester.userId}`);
    if (!listed) {
      return {
        allowed: false,
        missing: 'channel',
        reason:
          'The assistant does not run code in this channel; use `run <lang>` yourself, or an operator can add the channel to models.codeRun.',
      };
    }
  }
  return withApproval(rules, 'run');
}

function decideCancel(requester: Requester, target: PolicyTarget, rules: PolicyRules): PolicyDecision {
  const task = target.task;
  const elsewhere =
    !task ||
    task.workspace !== `${requester.platform}:${requester.workspaceId}` ||
    // A GitHub installation spans repositories; a role there is one repository's permission.
    (requester.githubPermission !== undefined && task.channelId !== requester.channelId);
  if (elsewhere)
    return { allowed: false, missing: 'workspace', reason: 'That task is not in this workspace.' };
  if (task.ownerId === requester.userId) return ALLOW;
  return needRole(requester, rules.minRole['cancel.any'], WHAT['cancel.any']) ?? ALLOW;
}

function decideDigestAdd(requester: Requester, target: PolicyTarget, rules: PolicyRules): PolicyDecision {
  const refusal = needRole(requester, rules.minRole['digest.add'], WHAT['digest.add']);
  if (refusal) return refusal;
  const missing = target.unconnectedRepos ?? [];
  if (missing.length === 0) return ALLOW;
  return {
    allowed: false,
    missing: 'connection',
    reason: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not connected to this workspace; a workspace admin can connect ${missing.length === 1 ? 'it' : 'them'} with \`repos connect ${missing[0]}\`.`,
  };
}

function decideMcp(requester: Requester, target: PolicyTarget): PolicyDecision {
  const mcp = target.mcp;
  if (!mcp) return { allowed: false, missing: 'role', reason: 'Unknown tool server.' };
  if (!mcp.roles.includes(requester.role)) {
    return {
      allowed: false,
      missing: 'role',
      reason: `The ${mcp.server} tools are for ${mcp.roles.join(', ') || 'nobody'} in this workspace (yours: ${requester.role}).`,
    };
  }
  if (mcp.channels.length > 0 && !mcp.channels.includes(`${requester.platform}:${requester.channelId}`)) {
    return {
      allowed: false,
      missing: 'channel',
      reason: `The ${mcp.server} tools are not enabled in this channel.`,
    };
  }
  return ALLOW;
}

function decideGrant(requester: Requester, target: PolicyTarget, rules: PolicyRules): PolicyDecision {
  const refusal = needRole(requester, rules.minRole['role.grant'], WHAT['role.grant']);
  if (refusal) return refusal;
  const grant = target.grant;
  if (!grant)
    return { allowed: false, missing: 'role', reason: 'Say which role: owner, admin, member or guest.' };
  // Nobody grants above their own role, or changes someone who outranks them.
  if (rankOf(grant.role) > rankOf(requester.role) || rankOf(grant.current) > rankOf(requester.role)) {
    return {
      allowed: false,
      missing: 'role',
      reason: `Only an owner can grant or change the ${rankOf(grant.role) > rankOf(grant.current) ? grant.role : grant.current} role.`,
    };
  }
  return ALLOW;
}

function decideApprove(requester: Requester, target: PolicyTarget): PolicyDecision {
  const approval = target.approval;
  if (!approval) return { allowed: false, missing: 'role', reason: 'Nothing is waiting for approval.' };
  if (approval.requesterId === requester.userId) {
    return { allowed: false, missing: 'self', reason: 'Someone else has to approve your own request.' };
  }
  return needRole(requester, approval.role, WHAT.approve) ?? ALLOW;
}

/** The one decision. `target` carries the facts the action needs (see PolicyTarget). */
export function decide(
  action: PolicyAction,
  requester: Requester,
  target: PolicyTarget,
  rules: PolicyRules,
): PolicyDecision {
  switch (action) {
    case 'ask':
    case 'audit.read':
    case 'digest.change':
      return needRole(requester, rules.minRole[action], WHAT[action]) ?? ALLOW;
    case 'digest.list':
      return ALLOW;
    case 'run':
      return decideRun(requester, target, rules);
    case 'cancel':
      return decideCancel(requester, target, rules);
    case 'digest.add':
      return decideDigestAdd(requester, target, rules);
    case 'repo.read':
    case 'repo.write':
      return decideRepo(action, requester, target, rules);
    case 'mcp':
      return decideMcp(requester, target);
    case 'role.grant':
      return decideGrant(requester, target, rules);
    case 'repos.connect':
      return (
        firstRefusal(
          () => needRole(requester, rules.minRole['repos.connect'], WHAT['repos.connect']),
          () => needLink(requester),
          () => needPermission(target, 'read'),
        ) ?? ALLOW
      );
    case 'repos.disconnect':
      return needRole(requester, rules.minRole['repos.connect'], WHAT['repos.disconnect']) ?? ALLOW;
    case 'approve':
      return decideApprove(requester, target);
  }
}
