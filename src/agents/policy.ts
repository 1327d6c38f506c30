/**
 * Which tools a turn may use: the agent profile first, then the one workspace policy (src/core's
 * Access) for the action a tool category stands for. The decision depends only on who is asking
 * (their role, linked GitHub login and that login's permission), the repository's connection to the
 * workspace and config: never on the text of a message or an issue, so nothing a model reads can
 * widen it. This file only maps tools to policy actions; the rules live in src/core/policy.ts.
 */
import {
  type Access,
  type AccessRequest,
  isDeckhandError,
  type NormalizedEvent,
  type PolicyAction,
  type Role,
} from '../core/index.js';
import type { AgentProfile } from './profiles.js';
import type { ToolActor } from './tools/ports.js';
import type { PreparedCall, Tool } from './tools/tool.js';

/**
 * An allowed call may name `approvalBy`: the policy wants a person of that role to approve it
 * before it runs (the caller decides how to ask).
 */
export type PolicyDecision = { allowed: true; approvalBy?: Role } | { allowed: false; reason: string };

/** Who may use an MCP server's tools, and where (models.mcpServers.<name>.roles / channels). */
export interface McpServerAccess {
  roles: Role[];
  /** `platform:channelId`; empty: every channel. */
  channels: string[];
}

export interface PolicyOptions {
  access: Pick<Access, 'check'>;
  mcpServers: Record<string, McpServerAccess>;
}

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

/** The policy action a tool call stands for, and what it names. */
function actionOf(
  tool: Tool,
  call: PreparedCall,
  mcpServers: Record<string, McpServerAccess>,
): { action: PolicyAction; request: AccessRequest } {
  switch (tool.category) {
    case 'code':
      return { action: 'run', request: { viaTool: true } };
    case 'repo-read':
    case 'activity':
      return { action: 'repo.read', request: { repo: call.repo ?? call.target } };
    case 'repo-write':
    case 'workspace':
      return { action: 'repo.write', request: { repo: call.repo ?? call.target } };
    case 'schedule-read':
      return { action: 'digest.list', request: {} };
    case 'schedule-write':
      return { action: 'digest.add', request: call.repos ? { repos: call.repos } : {} };
    case 'mcp': {
      const server = tool.server ?? '';
      const settings = mcpServers[server];
      return {
        action: 'mcp',
        request: settings ? { mcp: { server, roles: settings.roles, channels: settings.channels } } : {},
      };
    }
  }
}

/** What a failed lookup is about, for the refusal: the repository, else the call's target. */
function subjectOf(call: PreparedCall, request: AccessRequest): string {
  return request.repo ?? request.repos?.join(', ') ?? call.target;
}

export function createPolicy(options: PolicyOptions): Policy {
  return {
    offered(tools, profile) {
      return tools.filter((tool) => profileAllows(profile, tool));
    },

    async authorize(tool, call, event, profile) {
      if (!profileAllows(profile, tool)) {
        return { allowed: false, reason: `the ${profile.name} profile does not use ${tool.name}` };
      }
      const { action, request } = actionOf(tool, call, options.mcpServers);
      try {
        const decision = await options.access.check(event, action, request);
        // Allowed as it is (with approvalBy when the policy wants an approval first).
        return decision.allowed ? decision : { allowed: false, reason: decision.reason };
      } catch (error) {
        const message = isDeckhandError(error)
          ? error.userMessage
          : error instanceof Error
            ? error.message
            : String(error);
        return {
          allowed: false,
          reason: `your access to ${subjectOf(call, request)} could not be checked (${message})`,
        };
      }
    },
  };
}
