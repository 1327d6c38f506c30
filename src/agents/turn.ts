/**
 * The inside of one agent turn (split out of orchestrator.ts, which sets a turn up and ends it): the
 * loop model call -> tool calls -> results, each tool call through validation, the policy and the
 * tool, and the writes that record it all as Messages (with tokens and cost) and audit entries.
 */
import type { ApprovalPort, NormalizedEvent, ReplySink, Role } from '../core/index.js';
import { awaitApproval, DeckhandError, type Logger, redactText, userMessageOf } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { CostMeter } from './cost.js';
import { type Memory, truncateOutput } from './memory.js';
import type { Policy } from './policy.js';
import type { AgentProfile } from './profiles.js';
import type { ModelChain } from './providers/chain.js';
import type { TextChannel } from './text-channel.js';
import { type PreparedCall, type Tool, type ToolCategory, toolSpec } from './tools/tool.js';
import type { ChatMessage, ToolCall, ToolResultMessage } from './types.js';

export interface OrchestratorLimits {
  /** Tried after the profile's model, in order. */
  fallback: string[];
  maxSteps: number;
  turnBudgetMs: number;
  maxOutputTokens: number;
  contextTokens: number;
  toolResultMaxChars: number;
}

/** What a turn uses of the orchestrator's dependencies. */
export interface TurnDeps {
  store: Store;
  chain: ModelChain;
  tools: Tool[];
  policy: Policy;
  cost: CostMeter;
  limits: OrchestratorLimits;
  log: Logger | undefined;
  /** Where an action the policy wants approved waits (src/core awaitApproval); absent: such actions are refused. */
  approvals?: { port: ApprovalPort; timeoutMs: number } | undefined;
}

export interface TurnState {
  event: NormalizedEvent;
  taskId: string;
  workspaceKey: string;
  conversationId: string;
  profile: AgentProfile;
  out: TextChannel;
  /** The reply sink, for an approval request's own message (with its buttons). */
  sink: ReplySink;
  signal: AbortSignal;
  /** Message writes of this turn, in order, off the model loop's critical path; awaited before the turn ends. */
  writes: Promise<void>;
  /**
   * Tool categories whose approval was given before the turn (the GitHub work asks once, before
   * cloning, for the whole change): the policy still decides each call, but no second approval is asked.
   */
  approvedCategories?: readonly ToolCategory[];
  /** Called after each tool call with its result (the GitHub work's step log in the tracking comment). */
  onToolResult?: (call: ToolCall, result: ToolResultMessage) => Promise<void>;
}

/** How the loop ended: the model answered, a turn-ending tool succeeded, or a limit was reached. */
export type LoopEnd =
  | { end: 'answered'; text: string }
  | { end: 'tool'; tool: string; text: string }
  | { end: 'steps' | 'budget'; text: string };

/** Allowed decisions without an approval, per tool and repository, for the rest of one turn. */
type DecisionMemo = Map<string, true>;

const STORED_TEXT_MAX = 190_000;

interface ModelStep {
  text: string;
  toolCalls: ToolCall[];
  modelId: string;
  tokensIn: number;
  tokensOut: number;
}

/** Queues a message write behind the turn's earlier ones (order matters for memory). */
export function record(
  deps: TurnDeps,
  turn: TurnState,
  message: Parameters<Store['appendMessage']>[1],
): void {
  turn.writes = turn.writes.then(async () => {
    await deps.store.appendMessage(turn.conversationId, message);
  });
}

function recordModelCall(deps: TurnDeps, turn: TurnState, step: ModelStep): void {
  const costUsd = deps.cost.costOf(step.modelId, step.tokensIn, step.tokensOut);
  deps.cost.add(turn.workspaceKey, costUsd, step);
  record(deps, turn, {
    role: 'assistant',
    text: step.text.slice(0, STORED_TEXT_MAX),
    toolCalls: step.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
    model: step.modelId,
    tokensIn: step.tokensIn,
    tokensOut: step.tokensOut,
    costUsd,
    taskId: turn.taskId,
    workspaceKey: turn.workspaceKey,
  });
}

async function audit(
  deps: TurnDeps,
  turn: TurnState,
  tool: Tool,
  target: string,
  outcome: 'denied' | 'succeeded' | 'failed',
  detail: string,
): Promise<void> {
  if (!tool.mutates) return;
  await deps.store.recordAudit({
    actor: `${turn.event.platform}:${turn.event.userId}`,
    action: `tool.${tool.name}`,
    target,
    outcome,
    detail: { task: turn.taskId, profile: turn.profile.name, note: detail.slice(0, 500) },
  });
}

/** Waits for a person of `role` to approve the call (the turn's time budget still runs). */
async function approve(
  deps: TurnDeps,
  turn: TurnState,
  tool: Tool,
  call: PreparedCall,
  role: Role,
): Promise<'approved' | 'denied' | 'expired' | 'cancelled' | 'unavailable'> {
  if (!deps.approvals) return 'unavailable';
  const outcome = await awaitApproval(deps.approvals.port, {
    event: turn.event,
    sink: turn.sink,
    taskId: turn.taskId,
    action: tool.category === 'code' ? 'run' : 'repo.write',
    approverRole: role,
    summary: call.summary ?? `${tool.name} ${call.target}`,
    timeoutMs: deps.approvals.timeoutMs,
    signal: turn.signal,
  });
  return outcome.verdict;
}

/**
 * The policy's decision for a call. An allowed one with no approval to ask is kept for the rest of the
 * turn per tool and repository (who asks and what is asked do not change within a turn): a coding
 * session of thirty tool calls asks, and audits, once. Refusals and approvals are asked every time.
 */
async function decide(
  deps: TurnDeps,
  turn: TurnState,
  tool: Tool,
  call: PreparedCall,
  memo: DecisionMemo,
): ReturnType<TurnDeps['policy']['authorize']> {
  const key = `${tool.name}\u0000${call.repo ?? ''}\u0000${(call.repos ?? []).join(',')}`;
  if (memo.has(key)) return { allowed: true };
  const decision = await deps.policy.authorize(tool, call, turn.event, turn.profile);
  if (decision.allowed && !decision.approvalBy) memo.set(key, true);
  return decision;
}

/** Runs one tool call through validation, the policy and the tool; never throws for the model's mistakes. */
async function runTool(
  deps: TurnDeps,
  turn: TurnState,
  offered: Map<string, Tool>,
  call: ToolCall,
  memo: DecisionMemo,
): Promise<ToolResultMessage> {
  const result = (output: string, isError: boolean): ToolResultMessage => ({
    callId: call.id,
    name: call.name,
    // Registered secrets and token shapes are masked: a tool's output goes to the model, the store and maybe the user.
    output: truncateOutput(redactText(output), deps.limits.toolResultMaxChars),
    isError,
  });
  const tool = offered.get(call.name);
  if (!tool) {
    return result(`There is no tool named ${call.name} available here. Nothing was run.`, true);
  }
  const prepared = tool.prepare(call.arguments);
  if (!prepared.ok) {
    return result(
      `Invalid arguments for ${call.name}: ${prepared.error}. Nothing was run; fix the arguments.`,
      true,
    );
  }
  const decision = await decide(deps, turn, tool, prepared.call, memo);
  if (!decision.allowed) {
    // The policy's reasons are sentences; the period is added here once.
    const reason = decision.reason.replace(/\.\s*$/, '');
    turn.out.paragraph(`_${call.name} refused: ${reason}._\n\n`);
    await audit(deps, turn, tool, prepared.call.target, 'denied', decision.reason);
    return result(`Refused: ${reason}. Nothing was done. Tell the user.`, true);
  }
  if (decision.approvalBy && !turn.approvedCategories?.includes(tool.category)) {
    const verdict = await approve(deps, turn, tool, prepared.call, decision.approvalBy);
    if (verdict !== 'approved') {
      await audit(deps, turn, tool, prepared.call.target, 'denied', `not approved: ${verdict}`);
      return result(`Not approved (${verdict}). Nothing was done. Tell the user.`, true);
    }
  }
  try {
    const output = await prepared.call.run({ event: turn.event, taskId: turn.taskId, signal: turn.signal });
    await audit(
      deps,
      turn,
      tool,
      prepared.call.target,
      output.isError ? 'failed' : 'succeeded',
      output.output,
    );
    // What a repository write did (the pull request's link) is shown, whatever the model says next.
    if (tool.category === 'repo-write' && !output.isError && output.output) {
      turn.out.paragraph(`_${call.name}: ${output.output.split('\n')[0]!.slice(0, 300)}_\n\n`);
    }
    return result(output.output || '(no output)', output.isError ?? false);
  } catch (error) {
    if (turn.signal.aborted) throw error;
    deps.log?.warn({ err: error, tool: call.name, task: turn.taskId }, 'tool failed');
    const message = userMessageOf(error);
    const detail =
      error instanceof DeckhandError ? error.userMessage : (error as Error).message || String(error);
    await audit(deps, turn, tool, prepared.call.target, 'failed', detail);
    turn.out.paragraph(`_${call.name} failed: ${message}_\n\n`);
    // The model hears what a user may hear: an untyped error's text (a driver message, a path)
    // goes to the log and the audit entry, never into a reply the model could write.
    return result(`The tool failed: ${message}`, true);
  }
}

/** One model call, its text streamed into the reply as it arrives; recorded even when cut short. */
async function callModel(
  deps: TurnDeps,
  turn: TurnState,
  modelIds: string[],
  request: Parameters<ModelChain['stream']>[1],
): Promise<ModelStep> {
  const current: ModelStep = { text: '', toolCalls: [], modelId: '', tokensIn: 0, tokensOut: 0 };
  try {
    for await (const event of deps.chain.stream(modelIds, request, turn.signal)) {
      if (event.type === 'model') current.modelId = event.modelId;
      else if (event.type === 'text') {
        current.text += event.text;
        turn.out.push(event.text);
      } else if (event.type === 'tool_call') current.toolCalls.push(event.call);
      else if (event.type === 'usage') {
        current.tokensIn = event.inputTokens;
        current.tokensOut = event.outputTokens;
      }
    }
  } finally {
    // A call cut short (cancel, time budget) is still recorded: its tokens were spent.
    if (current.modelId) recordModelCall(deps, turn, current);
  }
  return current;
}

/** Model call -> tool calls -> results until the model answers, the step limit or the cost budget. */
export async function runModelLoop(deps: TurnDeps, turn: TurnState, memory: Memory): Promise<LoopEnd> {
  const { limits } = deps;
  const offeredTools = deps.policy.offered(deps.tools, turn.profile);
  const offered = new Map(offeredTools.map((t) => [t.name, t]));
  const specs = offeredTools.map(toolSpec);
  const system = memory.summary
    ? `${turn.profile.systemPrompt}\n\nSummary of the earlier conversation in this thread:\n${memory.summary}`
    : turn.profile.systemPrompt;
  const messages: ChatMessage[] = memory.messages.map((m) => m.message);
  const modelIds = [turn.profile.model, ...limits.fallback];
  const memo: DecisionMemo = new Map();
  let text = '';

  for (let step = 0; step < limits.maxSteps; step++) {
    if (step > 0) {
      const over = await deps.cost.overBudget(turn.workspaceKey);
      if (over) {
        turn.out.paragraph(over);
        return { end: 'budget', text };
      }
    }
    const request = { system, messages, tools: specs, maxTokens: limits.maxOutputTokens };
    const current = await callModel(deps, turn, modelIds, request);
    text = current.text;
    if (current.toolCalls.length === 0) return { end: 'answered', text };

    const results: ToolResultMessage[] = [];
    let ended: string | undefined;
    for (const call of current.toolCalls) {
      const result = await runTool(deps, turn, offered, call, memo);
      results.push(result);
      await turn.onToolResult?.(call, result);
      if (!result.isError && offered.get(call.name)?.endsTurn) ended ??= call.name;
    }
    record(deps, turn, {
      role: 'tool',
      toolResults: results.map((r) => ({ callId: r.callId, output: r.output, isError: r.isError })),
      taskId: turn.taskId,
      workspaceKey: turn.workspaceKey,
    });
    if (ended) return { end: 'tool', tool: ended, text };
    messages.push(
      { role: 'assistant', text: current.text, toolCalls: current.toolCalls },
      { role: 'tool', results },
    );
  }
  turn.out.paragraph(
    `_I stopped after ${limits.maxSteps} steps (the step limit for one message). Say "continue" to go on._`,
  );
  return { end: 'steps', text };
}
