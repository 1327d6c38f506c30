/**
 * Which tools a turn may use. The decision depends only on who is asking (the platform's ids for
 * the actor and channel), the agent profile, config and the repository's own permission records:
 * never on the text of a message or an issue, so nothing a model reads can widen it.
 */
import type { NormalizedEvent } from '../core/index.js';
import type { AgentProfile } from './profiles.js';
import type { GithubToolPort, RepoPermission, ToolActor } from './tools/ports.js';
import type { PreparedCall, Tool } from './tools/tool.js';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

export interface PolicyOptions {
  /** `platform:channelId` channels and `platform:userId` users that may run code. */
  codeRun: { channels: string[]; users: string[] };
  github?: Pick<GithubToolPort, 'permissionOf'>;
}

const WRITE_PERMISSIONS: ReadonlySet<RepoPermission> = new Set(['write', 'maintain', 'admin']);

export function actorOf(event: NormalizedEvent): ToolActor {
  return {
    platform: event.platform,
    workspaceId: event.workspaceId,
    userId: event.userId,
    ...(event.userName ? { userName: event.userName } : {}),
  };
}

export interface Policy {
  /** The tools a profile offers; the rest are never shown to the model. */
  offered(tools: Tool[], profile: AgentProfile): Tool[];
  /** Decides one validated call. A refusal's reason is shown to the model and the user. */
  authorize(
    tool: Tool,
    call: PreparedCall,
    event: NormalizedEvent,
    profile: AgentProfile,
  ): Promise<PolicyDecision>;
}

export function profileAllows(profile: AgentProfile, tool: Tool): boolean {
  const allowed = profile.tools;
  if (allowed.includes('*') || allowed.includes(tool.name)) return true;
  return tool.server !== undefined && (allowed.includes('mcp:*') || allowed.includes(`mcp:${tool.server}`));
}

export function createPolicy(options: PolicyOptions): Policy {
  const channels = new Set(options.codeRun.channels);
  const users = new Set(options.codeRun.users);

  async function permission(repo: string, event: NormalizedEvent): Promise<RepoPermission | Error> {
    if (!options.github) return new Error('no GitHub access is configured');
    try {
      return await options.github.permissionOf(repo, actorOf(event));
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  return {
    offered(tools, profile) {
      return tools.filter((tool) => profileAllows(profile, tool));
    },

    async authorize(tool, call, event, profile) {
      if (!profileAllows(profile, tool)) {
        return { allowed: false, reason: `the ${profile.name} profile does not use ${tool.name}` };
      }
      switch (tool.category) {
        case 'code': {
          const ok =
            channels.has(`${event.platform}:${event.channelId}`) ||
            users.has(`${event.platform}:${event.userId}`);
          return ok
            ? { allowed: true }
            : {
                allowed: false,
                reason:
                  'running code is not enabled for you in this channel (an admin can add the channel or you to models.codeRun)',
              };
        }
        case 'repo-read':
        case 'activity':
        case 'repo-write': {
          const repo = call.repo ?? call.target;
          const level = await permission(repo, event);
          if (level instanceof Error) {
            return {
              allowed: false,
              reason: `your access to ${repo} could not be checked (${level.message})`,
            };
          }
          if (tool.category === 'repo-write') {
            return WRITE_PERMISSIONS.has(level)
              ? { allowed: true }
              : {
                  allowed: false,
                  reason: `you need write access to ${repo} to change it; you have ${level === 'none' ? 'no access' : `${level} access`}`,
                };
          }
          return level !== 'none'
            ? { allowed: true }
            : { allowed: false, reason: `you have no access to ${repo}` };
        }
        case 'schedule-read':
        case 'schedule-write':
        case 'mcp':
          return { allowed: true };
      }
    },
  };
}
