export {
  type CostMeter,
  createCostMeter,
  formatUsage,
  type ModelCallCharge,
  monthStart,
  taskUsage,
  type UsageSummary,
  usageSummary,
} from './cost.js';
export {
  createDigestSummariser,
  DIGEST_SUMMARY_TASK,
  type DigestSummariser,
  type DigestSummaryRequest,
} from './digest-summary.js';
export {
  type Agent,
  type AgentDeps,
  orchestratorFromConfig,
  probeMcpServers,
  providersFromConfig,
} from './from-config.js';
export { type GithubAgentDeps, githubAgentPorts } from './github-ports.js';
export { estimateTokens, memoryFromRecords, truncateOutput } from './memory.js';
export {
  createAgentLoop,
  createOrchestrator,
  type LoopEnd,
  type OrchestratorDeps,
  type OrchestratorLimits,
  type ToolTurn,
  type ToolTurnRequest,
} from './orchestrator.js';
export {
  actorOf,
  createPolicy,
  type McpServerAccess,
  type Policy,
  type PolicyDecision,
  type PolicyOptions,
} from './policy.js';
export { type AgentProfile, createProfiles, type Profiles } from './profiles.js';
export { createAnthropicProvider } from './providers/anthropic.js';
export {
  type ChainEvent,
  createModelChain,
  type ModelChain,
  type ModelChainOptions,
  retryAfterOf,
} from './providers/chain.js';
export { createOpenAIProvider } from './providers/openai.js';
export { STEPS_SHOWN, StepLog, stepLine } from './step-log.js';
export { githubTools, openPullRequestTool } from './tools/github.js';
export { type McpServerStatus, type McpToolSet, openMcpTools } from './tools/mcp.js';
export type {
  FileChange,
  GithubToolPort,
  RepoPermission,
  SchedulerToolPort,
  ScheduleSummary,
  ToolActor,
} from './tools/ports.js';
export { runCodeTool } from './tools/run-code.js';
export { schedulerTools } from './tools/scheduler.js';
export { defineTool, type Tool, type ToolCategory, type ToolContext, type ToolOutput } from './tools/tool.js';
export type { ChatMessage, ModelEvent, ModelProvider, ModelRequest, ToolCall, ToolSpec } from './types.js';
export {
  isWorkspaceTool,
  prepareWorkspaceCall,
  type SandboxProgram,
  SEARCH_MAX_RESULTS,
  sandboxProgramFor,
  VIEW_MAX_LINES,
  WORKSPACE_TOOLS,
  type WorkspaceToolName,
} from './workspace-tools.js';
