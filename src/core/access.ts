/**
 * Gathers the facts src/core/policy.ts decides from, for one event and one action: the requester's
 * role in the workspace (stored grants, the operator's config, the default; on GitHub, their
 * permission on the repository), their linked GitHub login, a repository's connection to the
 * workspace and that login's permission there. Then it asks the policy and leaves an audit entry
 * of the decision. The stores behind it are ports, so every room (router, agent tools, scheduler,
 * GitHub work) can ask the same question without importing each other.
 */
import type { NormalizedEvent } from './contracts/event.js';
import { DeckhandError, isDeckhandError } from './errors.js';
import type { Logger } from './logger.js';
import {
  atLeast,
  DEFAULT_MIN_ROLE,
  decide,
  type GitHubPermission,
  type PolicyAction,
  type PolicyDecision,
  type PolicyRules,
  type PolicyTarget,
  RANKED_ACTIONS,
  type RankedAction,
  type Requester,
  type Role,
  roleFromPermission,
} from './policy.js';

export interface WorkspaceRef {
  platform: NormalizedEvent['platform'];
  workspaceId: string;
}

export interface AccessPorts {
  roleOf(workspace: WorkspaceRef, userId: string): Promise<Role | undefined>;
  githubLinkOf(account: WorkspaceRef & { userId: string }): Promise<{ login: string } | undefined>;
  isRepoConnected(workspace: WorkspaceRef, repo: string): Promise<boolean>;
  /** A login's permission on a repository, asked with Deckhand's own GitHub client; absent without GitHub access. */
  permissionOf?:
    | ((repo: string, login: string, installationId?: string) => Promise<GitHubPermission>)
    | undefined;
  recordAudit(entry: {
    actor: string;
    action: string;
    target?: string;
    outcome: 'allowed' | 'denied';
    detail?: unknown;
    workspace?: string;
  }): Promise<unknown>;
}

export interface AccessSettings {
  defaultRole: Role;
  /** `<platform>:<workspaceId>:<userId>` -> role, fixed (chat grants cannot change it). */
  roles: Record<string, Role>;
  /** `<platform>:<workspaceId>` -> repositories connected in config. */
  repos: Record<string, string[]>;
  rules: PolicyRules;
}

/** What an action names; the facts are looked up from it. */
export interface AccessRequest {
  repo?: string;
  /** A digest's repositories: every one must be connected. */
  repos?: string[];
  task?: { workspace: string; channelId?: string; ownerId?: string };
  mcp?: { server: string; roles: Role[]; channels: string[] };
  grant?: { role: Role; userId: string };
  approval?: { role: Role; requesterId: string };
  viaTool?: boolean;
}

const REPO = /^[\w.-]+\/[\w.-]+$/;

/** On GitHub, the installation the event came from: its client can answer without a lookup. */
function installationOf(event: NormalizedEvent): string | undefined {
  return event.platform === 'github' ? event.workspaceId : undefined;
}

export function workspaceKeyOf(event: Pick<NormalizedEvent, 'platform' | 'workspaceId'>): string {
  return `${event.platform}:${event.workspaceId}`;
}

/** `owner/repo` of a GitHub event (its channel), lower-cased. */
function eventRepo(event: NormalizedEvent): string | undefined {
  const repo = event.replyTo.repo ?? event.channelId;
  return REPO.test(repo) ? repo.toLowerCase() : undefined;
}

function describe(action: PolicyAction, request: AccessRequest): string {
  if (request.repo) return request.repo;
  if (request.repos) return request.repos.join(',');
  if (request.mcp) return `mcp:${request.mcp.server}`;
  if (request.grant) return `${request.grant.userId}=${request.grant.role}`;
  return action;
}

export function createAccess(ports: AccessPorts, settings: AccessSettings, logger?: Logger) {
  const noGitHub = (what: string) =>
    `I cannot check GitHub access for ${what}: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_TOKEN) and restart Deckhand.`;

  async function permission(
    repo: string,
    login: string | undefined,
    installationId?: string,
  ): Promise<GitHubPermission> {
    if (!login) return 'none';
    if (!ports.permissionOf) throw new DeckhandError('NOT_CONFIGURED', noGitHub(repo));
    try {
      return await ports.permissionOf(repo, login, installationId);
    } catch (error) {
      if (isDeckhandError(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new DeckhandError('UPSTREAM_FAILED', `I could not check your access to ${repo}: ${message}`, {
        cause: error,
        retryable: true,
      });
    }
  }

  /** The operator's config names a role for good; otherwise a chat grant; otherwise the default. */
  async function configuredOrStoredRole(event: NormalizedEvent, userId: string): Promise<Role> {
    const configured = configuredRole(event, userId);
    if (configured) return configured;
    const stored = await ports.roleOf({ platform: event.platform, workspaceId: event.workspaceId }, userId);
    return stored ?? settings.defaultRole;
  }

  /** Whether the config sets `userId`'s role here (chat cannot change it). */
  function configuredRole(event: NormalizedEvent, userId: string): Role | undefined {
    return settings.roles[`${workspaceKeyOf(event)}:${userId}`];
  }

  /**
   * Who asked in an event, looked up once per event: a task's checks (the router's, each tool's, the
   * GitHub work's before cloning and its agent's after) share one answer instead of asking the store
   * and GitHub again. A failed lookup is forgotten, so a retry asks again.
   */
  const requesters = new WeakMap<NormalizedEvent, Promise<Requester>>();
  function requester(event: NormalizedEvent): Promise<Requester> {
    let known = requesters.get(event);
    if (!known) {
      known = lookUpRequester(event);
      requesters.set(event, known);
      known.catch(() => requesters.delete(event));
    }
    return known;
  }

  /** Who is asking: role and linked login. On GitHub the actor is its login, proven by the signed webhook. */
  async function lookUpRequester(event: NormalizedEvent): Promise<Requester> {
    const base = {
      platform: event.platform,
      workspaceId: event.workspaceId,
      userId: event.userId,
      channelId: event.channelId,
    };
    // The terminal is the operator at the host's keyboard.
    if (event.platform === 'terminal') return { ...base, role: 'owner' };
    if (event.platform === 'github') {
      const login = event.userName ?? event.userId;
      const repo = event.replyTo.repo ?? event.channelId;
      const level = REPO.test(repo) ? await permission(repo, login, installationOf(event)) : 'none';
      return { ...base, role: roleFromPermission(level), githubLogin: login, githubPermission: level };
    }
    const [role, link] = await Promise.all([
      configuredOrStoredRole(event, event.userId),
      ports.githubLinkOf({ platform: event.platform, workspaceId: event.workspaceId, userId: event.userId }),
    ]);
    return { ...base, role, ...(link ? { githubLogin: link.login } : {}) };
  }

  async function isConnected(event: NormalizedEvent, repo: string): Promise<boolean> {
    const name = repo.toLowerCase();
    if (event.platform === 'github' && eventRepo(event) === name) return true;
    const configured = settings.repos[workspaceKeyOf(event)] ?? [];
    if (configured.some((r) => r.toLowerCase() === name)) return true;
    return ports.isRepoConnected({ platform: event.platform, workspaceId: event.workspaceId }, name);
  }

  /** Whether `role` meets the action's least role (actions without a ranked one: yes). */
  function roleSuffices(action: PolicyAction, role: Role): boolean {
    if (!(RANKED_ACTIONS as readonly string[]).includes(action)) return true;
    return atLeast(role, settings.rules.minRole[action as RankedAction]);
  }

  async function targetOf(
    event: NormalizedEvent,
    action: PolicyAction,
    who: Requester,
    request: AccessRequest,
  ): Promise<PolicyTarget> {
    const target: PolicyTarget = {};
    if (request.repo) {
      // GitHub is asked only when the answer matters: a requester whose role is too low, or a
      // repository not connected, is refused as that first.
      const connected = await isConnected(event, request.repo);
      const ownRepo = who.githubPermission !== undefined && eventRepo(event) === request.repo.toLowerCase();
      const asks = (connected || action === 'repos.connect') && roleSuffices(action, who.role);
      const level = ownRepo
        ? (who.githubPermission ?? 'none')
        : asks
          ? await permission(request.repo, who.githubLogin, installationOf(event))
          : 'none';
      target.repo = { name: request.repo, connected, permission: level };
    }
    if (request.repos) {
      const connected = await Promise.all(request.repos.map((r) => isConnected(event, r)));
      target.unconnectedRepos = request.repos.filter((_, i) => !connected[i]);
    }
    if (request.grant) {
      target.grant = {
        role: request.grant.role,
        current: await configuredOrStoredRole(event, request.grant.userId),
      };
    }
    if (request.task) target.task = request.task;
    if (request.mcp) target.mcp = request.mcp;
    if (request.approval) target.approval = request.approval;
    if (request.viaTool) target.viaTool = true;
    return target;
  }

  async function audit(
    event: NormalizedEvent,
    action: PolicyAction,
    request: AccessRequest,
    decision: PolicyDecision,
  ) {
    // Asking and listing are every message's first step: their allowed decisions would drown the log.
    if (decision.allowed && (action === 'ask' || action === 'digest.list')) return;
    await ports
      .recordAudit({
        actor: `${event.platform}:${event.userId}`,
        action: `policy.${action}`,
        target: describe(action, request),
        outcome: decision.allowed ? 'allowed' : 'denied',
        workspace: workspaceKeyOf(event),
        ...(decision.allowed
          ? decision.approvalBy
            ? { detail: { approvalBy: decision.approvalBy } }
            : {}
          : { detail: { missing: decision.missing } }),
      })
      .catch((error: unknown) => logger?.warn({ err: error }, 'could not record the audit entry'));
  }

  return {
    requester,
    isConnected,
    configuredRole,

    /** Decides `action` for the event's requester and audits the decision. Lookup failures throw (retryable). */
    async check(
      event: NormalizedEvent,
      action: PolicyAction,
      request: AccessRequest = {},
    ): Promise<PolicyDecision> {
      let decision: PolicyDecision;
      try {
        const who = await requester(event);
        decision = decide(action, who, await targetOf(event, action, who, request), settings.rules);
      } catch (error) {
        if (!isDeckhandError(error, 'NOT_CONFIGURED')) throw error;
        decision = { allowed: false, missing: 'permission', reason: error.userMessage };
      }
      if (!decision.allowed) logger?.info({ action, missing: decision.missing }, 'refused by the policy');
      await audit(event, action, request, decision);
      return decision;
    },
  };
}

export type Access = ReturnType<typeof createAccess>;

/** The access settings of a loaded config. */
export function accessSettingsOf(config: {
  access: {
    defaultRole: Role;
    roles: Record<string, Role>;
    repos: Record<string, string[]>;
    minRole: PolicyRules['minRole'];
    approvals: PolicyRules['approvals'];
  };
  models: { codeRun: PolicyRules['codeRun'] };
}): AccessSettings {
  const { access } = config;
  return {
    defaultRole: access.defaultRole,
    roles: access.roles,
    repos: access.repos,
    rules: { minRole: access.minRole, codeRun: config.models.codeRun, approvals: access.approvals },
  };
}

/** The defaults of the `access` settings: everyone a member, nothing connected, no approvals. */
export function defaultAccessSettings(): AccessSettings {
  return {
    defaultRole: 'member',
    roles: {},
    repos: {},
    rules: { minRole: { ...DEFAULT_MIN_ROLE }, codeRun: { channels: [], users: [] }, approvals: {} },
  };
}
