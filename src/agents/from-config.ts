/**
 * Builds the agent from config: providers whose secrets are set, the fallback chain, tools for the
 * ports that are given, MCP servers, the policy (an adapter onto the workspace's one Access),
 * profiles and the cost meter.
 */
import {
  type Access,
  accessSettingsOf,
  type Config,
  createAccess,
  type Logger,
  type Orchestrator,
} from '../core/index.js';
import type { Reviewer, WorkspaceAgent } from '../github/index.js';
import type { CodeRunner } from '../runners/index.js';
import { accessPortsOf, type Store } from '../store/index.js';
import { createCostMeter, formatUsage, type ModelCallCharge, usageSummary } from './cost.js';
import { createDigestSummariser, DIGEST_SUMMARY_TASK, type DigestSummariser } from './digest-summary.js';
import { githubAgentPorts } from './github-ports.js';
import { createAgentLoop } from './orchestrator.js';
import { createPolicy } from './policy.js';
import { createProfiles } from './profiles.js';
import { createAnthropicProvider } from './providers/anthropic.js';
import { createModelChain } from './providers/chain.js';
import { createOpenAIProvider } from './providers/openai.js';
import { githubTools, openPullRequestTool } from './tools/github.js';
import { type McpServerStatus, openMcpTools } from './tools/mcp.js';
import type { GithubToolPort, SchedulerToolPort } from './tools/ports.js';
import { runCodeTool } from './tools/run-code.js';
import { schedulerTools } from './tools/scheduler.js';
import type { Tool } from './tools/tool.js';
import type { ModelProvider, ProviderName } from './types.js';

export interface AgentDeps {
  store: Store;
  logger?: Logger;
  codeRunner?: CodeRunner;
  github?: GithubToolPort;
  scheduler?: SchedulerToolPort;
  /** Who may do what; built from the store and config when not given. */
  access?: Access;
  /** For tests and benchmarks: the fetch the SDKs use. */
  fetch?: typeof fetch;
  /** Another address for a provider's API (a proxy, or a loopback stand-in in tests). */
  baseURLs?: Partial<Record<ProviderName, string>>;
  /** Minimum time between edits of a streamed reply. */
  updateIntervalMs?: number;
  /** How the chain waits between retries (tests record the waits instead of sleeping). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Every charged model call (tokens and cost), for the process's metrics. */
  onModelCall?: (call: ModelCallCharge) => void;
}

export interface Agent {
  orchestrator: Orchestrator;
  /** One entry per configured MCP server: whether it started and which tools it gave. */
  mcp: McpServerStatus[];
  /** The tool names the agent can offer (before profiles and the policy). */
  tools: string[];
  /** For the GitHub work (createGitHubWork's `agent` and `reviewer`). */
  workspaceAgent: WorkspaceAgent;
  reviewer: Reviewer;
  /** The model summary on top of scheduled digests (the `digest-writer` profile). */
  summariseDigest: DigestSummariser;
  /** This month's usage of a workspace (`platform:workspaceId`), as a sentence. */
  usage(workspaceKey: string): Promise<string>;
  close(): Promise<void>;
}

export function providersFromConfig(
  config: Config,
  fetchImpl?: typeof fetch,
  baseURLs: Partial<Record<ProviderName, string>> = {},
): Partial<Record<ProviderName, ModelProvider>> {
  const s = config.secrets;
  const openaiBase = baseURLs.openai ?? s.OPENAI_BASE_URL;
  const providers: Partial<Record<ProviderName, ModelProvider>> = {};
  if (s.ANTHROPIC_API_KEY) {
    providers.anthropic = createAnthropicProvider({
      apiKey: s.ANTHROPIC_API_KEY,
      ...(baseURLs.anthropic ? { baseURL: baseURLs.anthropic } : {}),
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  }
  if (s.OPENAI_API_KEY || s.OPENAI_BASE_URL) {
    providers.openai = createOpenAIProvider({
      ...(s.OPENAI_API_KEY ? { apiKey: s.OPENAI_API_KEY } : {}),
      ...(openaiBase ? { baseURL: openaiBase } : {}),
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  }
  return providers;
}

/** The one Access over the store's facts, for when the integrator passes none. */
function accessFromDeps(config: Config, deps: AgentDeps): Access {
  const { store, github } = deps;
  return createAccess(
    {
      ...accessPortsOf(store),
      permissionOf: github ? (repo, login, at) => github.permissionOf(repo, login, at) : undefined,
    },
    accessSettingsOf(config),
    deps.logger?.child({ part: 'access' }),
  );
}

/** The agent, or undefined when no model provider is configured (commands still work then). */
export async function orchestratorFromConfig(config: Config, deps: AgentDeps): Promise<Agent | undefined> {
  const providers = providersFromConfig(config, deps.fetch, deps.baseURLs);
  if (Object.keys(providers).length === 0) return undefined;
  const m = config.models;
  const log = deps.logger?.child({ part: 'agent' });
  const chain = createModelChain({
    providers,
    timeoutMs: m.timeoutMs,
    maxRetries: m.maxRetries,
    retryBaseMs: m.retryBaseMs,
    maxRetryAfterMs: m.maxRetryAfterMs,
    ...(log ? { logger: log } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  const tools: Tool[] = [];
  if (deps.codeRunner) tools.push(runCodeTool(deps.codeRunner));
  if (deps.github) tools.push(...githubTools(deps.github), openPullRequestTool(deps.github));
  if (deps.scheduler) tools.push(...schedulerTools(deps.scheduler));
  const mcp = await openMcpTools(m.mcpServers, log);
  tools.push(...mcp.tools);
  const cost = createCostMeter({
    store: deps.store,
    prices: m.prices,
    monthlyBudgetUsd: m.monthlyBudgetUsd,
    budgets: m.budgets,
    ...(log ? { logger: log } : {}),
    ...(deps.onModelCall ? { onCall: deps.onModelCall } : {}),
  });
  const { orchestrator, toolTurn } = createAgentLoop({
    store: deps.store,
    chain,
    tools,
    policy: createPolicy({ access: deps.access ?? accessFromDeps(config, deps), mcpServers: m.mcpServers }),
    // access.approvals: a tool call waits here for Approve / Deny (the turn's time budget still runs).
    approvals: { port: deps.store, timeoutMs: config.access.approvalTimeoutMinutes * 60_000 },
    profiles: createProfiles(m),
    cost,
    limits: {
      fallback: m.fallback,
      maxSteps: m.maxSteps,
      turnBudgetMs: m.turnBudgetMs,
      maxOutputTokens: m.maxOutputTokens,
      contextTokens: m.contextTokens,
      toolResultMaxChars: m.toolResultMaxChars,
    },
    ...(log ? { logger: log } : {}),
    ...(deps.updateIntervalMs !== undefined ? { updateIntervalMs: deps.updateIntervalMs } : {}),
  });
  const profiles = createProfiles(m);
  const ports = githubAgentPorts({
    toolTurn,
    model: profiles.get('engineer')?.model ?? m.default,
    maxSteps: Math.max(m.maxSteps, 12),
    toolResultMaxChars: m.toolResultMaxChars,
  });
  const digestWriter = profiles.get('digest-writer') ?? profiles.get(m.defaultProfile);
  const summariseDigest = createDigestSummariser({
    store: deps.store,
    chain,
    cost,
    profile: digestWriter
      ? { ...digestWriter, systemPrompt: `${digestWriter.systemPrompt}\n\n${DIGEST_SUMMARY_TASK}` }
      : { name: 'digest-writer', systemPrompt: '', model: m.default, tools: [] },
    fallback: m.fallback,
    maxOutputTokens: Math.min(m.maxOutputTokens, 600),
  });
  return {
    orchestrator,
    summariseDigest,
    workspaceAgent: ports.workspaceAgent,
    reviewer: ports.reviewer,
    mcp: mcp.status,
    tools: tools.map((t) => t.name),
    async usage(workspaceKey) {
      return formatUsage(await usageSummary(deps.store, workspaceKey, cost.budgetFor(workspaceKey)));
    },
    close: () => mcp.close(),
  };
}

/** For `deckhand doctor`: starts each configured MCP server, lists its tools, and stops it again. */
export async function probeMcpServers(config: Config): Promise<McpServerStatus[]> {
  const set = await openMcpTools(config.models.mcpServers);
  await set.close();
  return set.status;
}
