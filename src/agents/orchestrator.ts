/**
 * The orchestrator: one turn of the agent for a chat message. Loads the thread's memory, picks the
 * profile, then loops model call -> tool calls -> results until the model answers, within a step limit
 * and a wall-clock budget (the loop is in turn.ts). Text streams into one reply as it arrives; every
 * model call, tool call and result is stored as a Message (with tokens and cost); side effects go to
 * the audit log.
 */
import { LRUCache } from 'lru-cache';
import type { NormalizedEvent, Orchestrator, ReplySink, TaskContext } from '../core/index.js';
import { DeckhandError, type Logger, streamReply, userMessageOf, workspaceKeyOf } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { CostMeter } from './cost.js';
import { type Memory, memoryFromRecords, messageTokens } from './memory.js';
import type { Policy } from './policy.js';
import type { Profiles } from './profiles.js';
import type { ModelChain } from './providers/chain.js';
import { summarizeIfNeeded } from './summarize.js';
import { TextChannel } from './text-channel.js';
import type { Tool, ToolCategory } from './tools/tool.js';
import {
  type LoopEnd,
  type OrchestratorLimits,
  runModelLoop,
  type TurnDeps,
  type TurnState,
} from './turn.js';

export type { LoopEnd, OrchestratorLimits } from './turn.js';

/**
 * A turn that is not a chat reply: the GitHub work's change, answer and review. Same loop, policy,
 * cost meter, message records and audit entries as a chat turn; its own system prompt, tools and
 * first message, and its outcome returned instead of streamed.
 */
export interface ToolTurnRequest {
  /** Whose request it is: the policy decides every tool call from it, the audit names it. */
  event: NormalizedEvent;
  taskId: string;
  /** Where an approval request would be posted. */
  sink: ReplySink;
  signal: AbortSignal;
  /** Names the turn's profile in records and audit entries (`github-change`). */
  name: string;
  systemPrompt: string;
  /** The model tried first (the chain's fallbacks follow). */
  model: string;
  tools: Tool[];
  prompt: string;
  maxSteps?: number;
  approvedCategories?: readonly ToolCategory[];
  onToolResult?: TurnState['onToolResult'];
}
export type ToolTurn = (request: ToolTurnRequest) => Promise<LoopEnd>;

export interface OrchestratorDeps {
  store: Store;
  /** Where tool calls the policy wants approved wait for Approve / Deny. */
  approvals?: TurnDeps['approvals'];
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

type TurnContext = TaskContext & { taskId: string };

/** Thread key -> conversation id: saves a round trip (a collection scan on FerretDB) per turn. */
const CONVERSATION_CACHE_SIZE = 10_000;

/** What stops a running turn: the task's cancellation (signal or stored status) or its time budget. */
interface TurnGuard {
  signal: AbortSignal;
  stopped(): 'cancelled' | 'budget' | undefined;
  release(): void;
}

function guardTurn(store: Store, ctx: TurnContext, turnBudgetMs: number, cancelPollMs: number): TurnGuard {
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
  }, turnBudgetMs);
  // `cancel` marks the task cancelled in the store; the worker notices at its next lease renewal
  // (a third of the lease, 20 s by default). Checking the task by id here stops a turn within seconds.
  const watch = setInterval(() => {
    store
      .getTask(ctx.taskId)
      .then((task) => {
        if (task?.status === 'cancelled') cancel();
      })
      .catch(() => undefined);
  }, cancelPollMs);
  watch.unref();
  return {
    signal: controller.signal,
    stopped: () => stopped,
    release() {
      clearTimeout(budget);
      clearInterval(watch);
      ctx.signal.removeEventListener('abort', cancel);
    },
  };
}

/** The orchestrator's state across turns (the conversation cache), with the steps of a turn as methods. */
class TurnRunner {
  /** Thread -> conversation id, the least recently used dropped past CONVERSATION_CACHE_SIZE. */
  private readonly conversations = new LRUCache<string, string>({ max: CONVERSATION_CACHE_SIZE });
  private readonly turnDeps: TurnDeps;
  private readonly log: Logger | undefined;

  constructor(private readonly deps: OrchestratorDeps) {
    this.log = deps.logger;
    const { store, chain, tools, policy, cost, limits } = deps;
    this.turnDeps = { store, chain, tools, policy, cost, limits, log: this.log, approvals: deps.approvals };
  }

  private async conversationIdFor(event: NormalizedEvent): Promise<string> {
    const key = `${event.platform}\u0000${event.workspaceId}\u0000${event.channelId}\u0000${event.threadId}`;
    const known = this.conversations.get(key);
    if (known) return known;
    const conversation = await this.deps.store.upsertConversation({
      platform: event.platform,
      workspaceId: event.workspaceId,
      channelId: event.channelId,
      threadId: event.threadId,
    });
    this.conversations.set(key, conversation.id);
    return conversation.id;
  }

  /** The thread's recent messages, summarised first when they outgrow the context. */
  private async loadMemory(turn: TurnState): Promise<Memory> {
    const { store, chain, cost, limits, profiles } = this.deps;
    const records = await store.recentMessages(turn.conversationId, this.deps.historyLimit ?? 200);
    const memory = memoryFromRecords(records, (text) => profiles.stripAsk(text).text);
    return summarizeIfNeeded(memory, {
      store,
      chain,
      cost,
      turn,
      modelIds: [turn.profile.model, ...limits.fallback],
      budgetTokens: limits.contextTokens,
      maxOutputTokens: Math.min(limits.maxOutputTokens, 1024),
      ...(this.log ? { logger: this.log } : {}),
    });
  }

  /** Loads memory and runs the model loop; throws what ends the turn early. */
  private async work(turn: TurnState): Promise<void> {
    const memory = await this.loadMemory(turn);
    this.log?.debug(
      {
        task: turn.taskId,
        profile: turn.profile.name,
        tokens: memory.messages.reduce((n, m) => n + messageTokens(m.message), 0),
      },
      'agent turn',
    );
    await runModelLoop(this.turnDeps, turn, memory);
  }

  /** What the reply says when the turn ended early. */
  private failureText(guard: TurnGuard, error: unknown, taskId: string): string {
    if (guard.signal.aborted) {
      return guard.stopped() === 'cancelled'
        ? '_(cancelled)_'
        : `_(stopped: this message used its ${Math.ceil(this.deps.limits.turnBudgetMs / 1000)} s time budget)_`;
    }
    this.log?.warn({ err: error, task: taskId }, 'agent turn failed');
    return userMessageOf(error);
  }

  /** A turn with its own prompt and tools (see ToolTurnRequest); throws what ends it early. */
  async runTools(request: ToolTurnRequest): Promise<LoopEnd> {
    const { event } = request;
    const workspaceKey = workspaceKeyOf(event);
    const over = await this.deps.cost.overBudget(workspaceKey);
    if (over) throw new DeckhandError('RATE_LIMITED', over);
    const turn: TurnState = {
      event,
      taskId: request.taskId,
      workspaceKey,
      conversationId: await this.conversationIdFor(event),
      profile: {
        name: request.name,
        systemPrompt: request.systemPrompt,
        model: request.model,
        tools: request.tools.map((t) => t.name),
      },
      // Nothing streams: the caller shows the outcome (and the steps, through onToolResult).
      out: new TextChannel(),
      sink: request.sink,
      signal: request.signal,
      writes: Promise.resolve(),
      ...(request.approvedCategories ? { approvedCategories: request.approvedCategories } : {}),
      ...(request.onToolResult ? { onToolResult: request.onToolResult } : {}),
    };
    const limits = { ...this.deps.limits, maxSteps: request.maxSteps ?? this.deps.limits.maxSteps };
    const deps: TurnDeps = { ...this.turnDeps, tools: request.tools, limits };
    try {
      return await runModelLoop(deps, turn, {
        messages: [{ recordId: '', message: { role: 'user', text: request.prompt } }],
      });
    } finally {
      turn.out.close();
      await turn.writes.catch((error: unknown) => {
        this.log?.error(
          { err: error, task: request.taskId },
          'could not store the messages of an agent turn',
        );
      });
    }
  }

  async run(event: NormalizedEvent, sink: ReplySink, ctx: TurnContext): Promise<string> {
    const { store, cost, limits } = this.deps;
    const workspaceKey = workspaceKeyOf(event);
    const over = await cost.overBudget(workspaceKey);
    if (over) {
      await sink.post(over);
      await sink.status('failed');
      return over;
    }
    const spentBefore = await cost.spent(workspaceKey);
    const input = event.command ? event.command.args : event.text;
    const { profile } = this.deps.profiles.pick(event, input);
    const conversationId = await this.conversationIdFor(event);
    const guard = guardTurn(store, ctx, limits.turnBudgetMs, this.deps.cancelPollMs ?? 2000);

    const out = new TextChannel();
    const shown = streamReply(sink, out, this.deps.updateIntervalMs);
    await sink.status('working');
    const turn: TurnState = {
      event,
      taskId: ctx.taskId,
      workspaceKey,
      conversationId,
      profile,
      out,
      sink,
      signal: guard.signal,
      writes: Promise.resolve(),
    };
    let failed = false;
    try {
      await this.work(turn);
    } catch (error) {
      failed = true;
      out.paragraph(this.failureText(guard, error, ctx.taskId));
    } finally {
      guard.release();
    }
    // The reply that takes the workspace past 80% of its monthly budget says so, once a month.
    const headsUp = await cost.budgetWarning(workspaceKey, spentBefore).catch(() => undefined);
    if (headsUp) out.paragraph(headsUp);
    out.close();
    const text = await shown;
    // The reply is out; the record of how it came about must be stored before the task ends.
    await turn.writes.catch((error: unknown) => {
      this.log?.error({ err: error, task: ctx.taskId }, 'could not store the messages of an agent turn');
    });
    await sink.status(failed ? 'failed' : 'done');
    return text;
  }
}

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  return createAgentLoop(deps).orchestrator;
}

/** The chat orchestrator and the tool turns of the GitHub work, over one loop and one conversation cache. */
export function createAgentLoop(deps: OrchestratorDeps): { orchestrator: Orchestrator; toolTurn: ToolTurn } {
  const runner = new TurnRunner(deps);
  return {
    orchestrator: (event: NormalizedEvent, sink: ReplySink, ctx: TurnContext) => runner.run(event, sink, ctx),
    toolTurn: (request) => runner.runTools(request),
  };
}
