/**
 * The orchestrator: one turn of the agent for a chat message. Loads the thread's memory, picks the
 * profile, then loops model call -> tool calls -> results until the model answers, within a step limit
 * and a wall-clock budget. Text streams into one reply as it arrives; every model call, tool call and
 * result is stored as a Message (with tokens and cost); side effects go to the audit log.
 */
import { LRUCache } from 'lru-cache';
import type { NormalizedEvent, Orchestrator, ReplySink, TaskContext } from '../core/index.js';
import { DeckhandError, type Logger, redactText, streamReply, userMessageOf } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { CostMeter } from './cost.js';
import { type Memory, memoryFromRecords, messageTokens, truncateOutput } from './memory.js';
import type { Policy } from './policy.js';
import type { AgentProfile, Profiles } from './profiles.js';
import type { ModelChain } from './providers/chain.js';
import { summarizeIfNeeded } from './summarize.js';
import { TextChannel } from './text-channel.js';
import { type Tool, toolSpec } from './tools/tool.js';
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

export interface OrchestratorDeps {
  store: Store;
  chain: ModelChain;
  tools: Tool[];
  policy: Policy;
  profiles: Profiles;
  cost: CostMeter;
  limits: OrchestratorLimits;
  logger?: Logger;
  /** Minimum time between edits of the streamed reply (platform rate limits). */
  updateIntervalMs?: number;
  /** Messages of the thread loaded into memory (older ones are covered by summaries). */
  historyLimit?: number;
  /** How often a running turn checks whether its task was cancelled. */
  cancelPollMs?: number;
}

const STORED_TEXT_MAX = 190_000;

interface TurnState {
  event: NormalizedEvent;
  taskId: string;
  workspaceKey: string;
  conversationId: string;
  profile: AgentProfile;
  out: TextChannel;
  signal: AbortSignal;
  /** Message writes of this turn, in order, off the model loop's critical path; awaited before the turn ends. */
  writes: Promise<void>;
}

/** Thread key -> conversation id: saves a round trip (a collection scan on FerretDB) per turn. */
const CONVERSATION_CACHE_SIZE = 10_000;

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { store, chain, policy, cost, limits } = deps;
  const log = deps.logger;
  const who = (event: NormalizedEvent) => `${event.platform}:${event.userId}`;
  /** Thread -> conversation id, the least recently used dropped past CONVERSATION_CACHE_SIZE. */
  const conversations = new LRUCache<string, string>({ max: CONVERSATION_CACHE_SIZE });

  function recordModelCall(
    turn: TurnState,
    step: { text: string; toolCalls: ToolCall[]; modelId: string; tokensIn: number; tokensOut: number },
  ): void {
    const costUsd = cost.costOf(step.modelId, step.tokensIn, step.tokensOut);
    cost.add(turn.workspaceKey, costUsd, step);
    record(turn, {
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

  /** Queues a message write behind the turn's earlier ones (order matters for memory). */
  function record(turn: TurnState, message: Parameters<Store['appendMessage']>[1]): void {
    turn.writes = turn.writes.then(async () => {
      await store.appendMessage(turn.conversationId, message);
    });
  }

  async function conversationIdFor(event: NormalizedEvent): Promise<string> {
    const key = `${event.platform}\u0000${event.workspaceId}\u0000${event.channelId}\u0000${event.threadId}`;
    const known = conversations.get(key);
    if (known) return known;
    const conversation = await store.upsertConversation({
      platform: event.platform,
      workspaceId: event.workspaceId,
      channelId: event.channelId,
      threadId: event.threadId,
    });
    conversations.set(key, conversation.id);
    return conversation.id;
  }

  async function audit(
    turn: TurnState,
    tool: Tool,
    target: string,
    outcome: 'denied' | 'succeeded' | 'failed',
    detail: string,
  ): Promise<void> {
    if (!tool.mutates) return;
    await store.recordAudit({
      actor: who(turn.event),
      action: `tool.${tool.name}`,
      target,
      outcome,
      detail: { task: turn.taskId, profile: turn.profile.name, note: detail.slice(0, 500) },
    });
  }

  /** Runs one tool call through validation, the policy and the tool; never throws for the model's mistakes. */
  async function runTool(
    turn: TurnState,
    offered: Map<string, Tool>,
    call: ToolCall,
  ): Promise<ToolResultMessage> {
    const result = (output: string, isError: boolean): ToolResultMessage => ({
      callId: call.id,
      name: call.name,
      // Registered secrets and token shapes are masked: a tool's output goes to the model, the store and maybe the user.
      output: truncateOutput(redactText(output), limits.toolResultMaxChars),
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
    const decision = await policy.authorize(tool, prepared.call, turn.event, turn.profile);
    if (!decision.allowed) {
      turn.out.paragraph(`_${call.name} refused: ${decision.reason}._\n\n`);
      await audit(turn, tool, prepared.call.target, 'denied', decision.reason);
      return result(`Refused: ${decision.reason}. Nothing was done. Tell the user.`, true);
    }
    try {
      const output = await prepared.call.run({ event: turn.event, taskId: turn.taskId, signal: turn.signal });
      await audit(turn, tool, prepared.call.target, output.isError ? 'failed' : 'succeeded', output.output);
      return result(output.output || '(no output)', output.isError ?? false);
    } catch (error) {
      if (turn.signal.aborted) throw error;
      log?.warn({ err: error, tool: call.name, task: turn.taskId }, 'tool failed');
      const message = userMessageOf(error);
      const detail =
        error instanceof DeckhandError ? error.userMessage : (error as Error).message || String(error);
      await audit(turn, tool, prepared.call.target, 'failed', detail);
      turn.out.paragraph(`_${call.name} failed: ${message}_\n\n`);
      // The model hears what a user may hear: an untyped error's text (a driver message, a path)
      // goes to the log and the audit entry, never into a reply the model could write.
      return result(`The tool failed: ${message}`, true);
    }
  }

  async function loop(turn: TurnState, memory: Memory): Promise<void> {
    const offeredTools = policy.offered(deps.tools, turn.profile);
    const offered = new Map(offeredTools.map((t) => [t.name, t]));
    const specs = offeredTools.map(toolSpec);
    const system = memory.summary
      ? `${turn.profile.systemPrompt}\n\nSummary of the earlier conversation in this thread:\n${memory.summary}`
      : turn.profile.systemPrompt;
    const messages: ChatMessage[] = memory.messages.map((m) => m.message);
    const modelIds = [turn.profile.model, ...limits.fallback];

    for (let step = 0; step < limits.maxSteps; step++) {
      if (step > 0) {
        const over = await cost.overBudget(turn.workspaceKey);
        if (over) {
          turn.out.paragraph(over);
          return;
        }
      }
      const current = { text: '', toolCalls: [] as ToolCall[], modelId: '', tokensIn: 0, tokensOut: 0 };
      try {
        for await (const event of chain.stream(
          modelIds,
          { system, messages, tools: specs, maxTokens: limits.maxOutputTokens },
          turn.signal,
        )) {
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
        if (current.modelId) recordModelCall(turn, current);
      }
      if (current.toolCalls.length === 0) return;

      const results: ToolResultMessage[] = [];
      for (const call of current.toolCalls) results.push(await runTool(turn, offered, call));
      record(turn, {
        role: 'tool',
        toolResults: results.map((r) => ({ callId: r.callId, output: r.output, isError: r.isError })),
        taskId: turn.taskId,
        workspaceKey: turn.workspaceKey,
      });
      messages.push(
        { role: 'assistant', text: current.text, toolCalls: current.toolCalls },
        { role: 'tool', results },
      );
    }
    turn.out.paragraph(
      `_I stopped after ${limits.maxSteps} steps (the step limit for one message). Say "continue" to go on._`,
    );
  }

  return async (event: NormalizedEvent, sink: ReplySink, ctx: TaskContext & { taskId: string }) => {
    const workspaceKey = `${event.platform}:${event.workspaceId}`;
    const over = await cost.overBudget(workspaceKey);
    if (over) {
      await sink.post(over);
      await sink.status('failed');
      return over;
    }
    const input = event.command ? event.command.args : event.text;
    const { profile } = deps.profiles.pick(event, input);
    const conversationId = await conversationIdFor(event);

    const controller = new AbortController();
    let stopped: 'cancelled' | 'budget' | undefined;
    const cancel = () => {
      stopped ??= 'cancelled';
      controller.abort(new DeckhandError('INTERNAL', 'cancelled'));
    };
    if (ctx.signal.aborted) cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    const budget = setTimeout(() => {
      stopped ??= 'budget';
      controller.abort(new Error('turn budget'));
    }, limits.turnBudgetMs);
    // `cancel` marks the task cancelled in the store; the worker notices at its next lease renewal
    // (a third of the lease, 20 s by default). Checking the task by id here stops a turn within seconds.
    const watch = setInterval(() => {
      store
        .getTask(ctx.taskId)
        .then((task) => {
          if (task?.status === 'cancelled') cancel();
        })
        .catch(() => undefined);
    }, deps.cancelPollMs ?? 2000);
    watch.unref();

    const out = new TextChannel();
    const shown = streamReply(sink, out, deps.updateIntervalMs);
    await sink.status('working');
    const turn: TurnState = {
      event,
      taskId: ctx.taskId,
      workspaceKey,
      conversationId,
      profile,
      out,
      signal: controller.signal,
      writes: Promise.resolve(),
    };
    let failed = false;
    try {
      const records = await store.recentMessages(conversationId, deps.historyLimit ?? 200);
      let memory = memoryFromRecords(records, (text) => deps.profiles.stripAsk(text).text);
      memory = await summarizeIfNeeded(memory, {
        store,
        chain,
        cost,
        turn,
        modelIds: [profile.model, ...limits.fallback],
        budgetTokens: limits.contextTokens,
        maxOutputTokens: Math.min(limits.maxOutputTokens, 1024),
        ...(log ? { logger: log } : {}),
      });
      log?.debug(
        {
          task: ctx.taskId,
          profile: profile.name,
          tokens: memory.messages.reduce((n, m) => n + messageTokens(m.message), 0),
        },
        'agent turn',
      );
      await loop(turn, memory);
    } catch (error) {
      failed = true;
      if (controller.signal.aborted) {
        out.paragraph(
          stopped === 'cancelled'
            ? '_(cancelled)_'
            : `_(stopped: this message used its ${Math.ceil(limits.turnBudgetMs / 1000)} s time budget)_`,
        );
      } else {
        log?.warn({ err: error, task: ctx.taskId }, 'agent turn failed');
        out.paragraph(userMessageOf(error));
      }
    } finally {
      clearTimeout(budget);
      clearInterval(watch);
      ctx.signal.removeEventListener('abort', cancel);
      out.close();
    }
    const text = await shown;
    // The reply is out; the record of how it came about must be stored before the task ends.
    await turn.writes.catch((error: unknown) => {
      log?.error({ err: error, task: ctx.taskId }, 'could not store the messages of an agent turn');
    });
    await sink.status(failed ? 'failed' : 'done');
    return text;
  };
}
