/**
 * The task handler for platform events: rate limits, then the command router (no model needed),
 * then the agent orchestrator for anything else. Every reply goes through the event's ReplySink.
 */

import type { Access, Logger, Orchestrator, ReplySink, TaskContext } from '../core/index.js';
import {
  awaitApproval,
  createAccess,
  DeckhandError,
  defaultAccessSettings,
  type NormalizedEvent,
  normalizedEventSchema,
  type RateLimits,
  rateLimitKeys,
  workspaceKeyOf,
} from '../core/index.js';
import type { CodeRunner, RunResult } from '../runners/index.js';
import { handleDigestCommand } from '../scheduler/index.js';
import { accessPortsOf, type Store, type TaskRecord } from '../store/index.js';
import { type GithubLinker, handleAccessCommand } from './access-commands.js';
import { handleApprovalDecision } from './approvals.js';
import { HELP_TEXT, parseCommand } from './commands.js';
import type { TaskHandler } from './worker.js';

/** GitHub mentions that are not commands: review a pull request or make a change (src/github createGitHubWork). */
export type GitHubWork = (
  event: NormalizedEvent,
  sink: ReplySink,
  ctx: TaskContext & { taskId: string },
) => Promise<unknown>;

export interface RouterDeps {
  store: Store;
  sinkFor: (event: NormalizedEvent) => ReplySink;
  rateLimits?: RateLimits;
  codeRunner?: CodeRunner;
  orchestrator?: Orchestrator;
  github?: GitHubWork;
  /**
   * The one policy (src/core/policy.ts) with its facts; asked before every action. Without one, the
   * default rules over this store (everyone a member, nothing connected, no GitHub permissions).
   */
  access?: Access;
  /** GitHub's device flow for `link github`; without one, linking says what to configure. */
  linker?: GithubLinker;
  /** access.approvalTimeoutMinutes: an approval not given in time cancels the action (default 30 min). */
  approvalTimeoutMs?: number;
  /** Where the router notes what it chose not to say (a repeated rate-limit notice), at debug. */
  logger?: Logger;
  /** digests.minIntervalMinutes: `digest add` refuses a cadence firing more often (default 60). */
  digestMinIntervalMinutes?: number;
}

const DEFAULT_APPROVAL_TIMEOUT_MS = 30 * 60_000;

export const NO_MODEL_TEXT =
  'No model is configured, so I can only run commands. To chat, set ANTHROPIC_API_KEY (or OPENAI_API_KEY, or OPENAI_BASE_URL for a compatible endpoint) and restart Deckhand. Say `help` for the commands.';
export const NO_SANDBOX_TEXT =
  'Code execution is not available: no Docker sandbox is set up here. Run `deckhand doctor` to see what is missing.';

export const NO_GITHUB_ACCESS_TEXT =
  'I cannot act on GitHub here: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_TOKEN) and restart Deckhand.';

export function formatRunResult(lang: string, result: RunResult): string {
  const flags = [
    result.cancelled ? 'cancelled' : '',
    result.timedOut ? 'timed out' : '',
    result.oomKilled ? 'out of memory' : '',
    result.diskFull ? 'disk limit' : '',
    result.truncated ? 'output truncated' : '',
  ].filter(Boolean);
  const head = `\`${lang}\` exited ${result.exitCode ?? '?'} in ${result.durationMs} ms${flags.length ? ` (${flags.join(', ')})` : ''}`;
  const body = [
    result.stdout && `\`\`\`\n${result.stdout.trimEnd()}\n\`\`\``,
    result.stderr && `stderr:\n\`\`\`\n${result.stderr.trimEnd()}\n\`\`\``,
  ]
    .filter(Boolean)
    .join('\n');
  return body ? `${head}\n${body}` : `${head}, no output`;
}

/**
 * Counts the event against its person's and workspace's budgets; when over, the result to record
 * instead of handling it. Only the first refusal in a window is answered: the rest are silent.
 */
async function overLimit(
  deps: RouterDeps,
  event: NormalizedEvent,
  sink: ReplySink,
): Promise<{ limited: 'user' | 'workspace'; noticed: boolean } | undefined> {
  if (!deps.rateLimits) return undefined;
  const { userKey, workspaceKey } = rateLimitKeys(event);
  const decision = await deps.rateLimits.consume(userKey, workspaceKey);
  if (decision.ok) return undefined;
  if (decision.notify) {
    const scope = decision.scope === 'user' ? 'you are' : 'this workspace is';
    await sink.post(
      `Slow down: ${scope} sending more than I accept per minute. Try again in ${decision.retryInSeconds} s.`,
    );
  } else {
    deps.logger?.debug(
      { user: userKey, workspace: workspaceKey, scope: decision.scope },
      'rate limited again in this window: no second notice',
    );
  }
  return { limited: decision.scope, noticed: decision.notify };
}

/**
 * Runs `run`'s code in the sandbox, shows the result in place of the "Running" line, and leaves an
 * audit entry (who ran which language, and whether it exited 0) whatever the outcome.
 */
async function runCode(
  deps: RouterDeps & { codeRunner: CodeRunner },
  run: { event: NormalizedEvent; sink: ReplySink; taskId: string; signal: AbortSignal },
  command: { lang: string; code: string },
): Promise<{ text: string; exitCode: number | null }> {
  const { event, sink, taskId } = run;
  // The run has happened by now: a failed audit write is logged, never a reason to fail the task
  // (its retry would run the code, and post, a second time). As the GitHub gate's entries are.
  const audit = (outcome: 'succeeded' | 'failed', detail: Record<string, unknown>) =>
    deps.store
      .recordAudit({
        actor: `${event.platform}:${event.userId}`,
        action: 'code.run',
        target: command.lang,
        outcome,
        detail: { taskId, ...detail },
        workspace: workspaceKeyOf(event),
      })
      .catch((error: unknown) => deps.logger?.warn({ err: error }, 'could not record the audit entry'));
  await sink.status('working');
  // A Cancel button where the platform has buttons; `cancel` (typed or pressed) stops the run.
  const posted = await sink.post(`Running \`${command.lang}\`…`, {
    actions: [{ label: 'Cancel', command: `cancel ${taskId}`, style: 'danger' }],
  });
  let result: RunResult;
  try {
    result = await deps.codeRunner.run({
      lang: command.lang,
      code: command.code,
      taskId,
      signal: run.signal,
    });
  } catch (error) {
    await audit('failed', { error: error instanceof DeckhandError ? error.code : 'unexpected' });
    throw error;
  }
  await audit(result.exitCode === 0 ? 'succeeded' : 'failed', {
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    ...(result.cancelled ? { cancelled: true } : {}),
    ...(result.timedOut ? { timedOut: true } : {}),
  });
  const text = formatRunResult(command.lang, result);
  await sink.update(posted, text); // without actions: the button goes
  await sink.status(result.exitCode === 0 ? 'done' : 'failed');
  return { text, exitCode: result.exitCode };
}

/**
 * `cancel [task id]`: the named task, or the one running in this thread. The policy decides: your
 * own tasks, or any in your workspace as an admin; never another workspace's (task ids are public).
 */
async function cancelTask(
  deps: { store: Store; access: Access },
  event: NormalizedEvent,
  selfId: string,
  taskId: string | undefined,
): Promise<string> {
  const { store } = deps;
  const candidates = taskId
    ? [await store.getTask(taskId)]
    : (await store.listTasks({ status: 'running' }, 100)).filter(
        (t) =>
          t.id !== selfId &&
          t.source.platform === event.platform &&
          t.source.workspaceId === event.workspaceId &&
          t.source.channelId === event.channelId &&
          t.source.threadId === event.threadId,
      );
  const target = candidates.find((t) => t && (t.status === 'running' || t.status === 'queued'));
  if (!target) return 'Nothing to cancel in this thread.';
  const { source } = target;
  const decision = await deps.access.check(event, 'cancel', {
    task: {
      workspace: `${source.platform}:${source.workspaceId ?? ''}`,
      ...(source.channelId ? { channelId: source.channelId } : {}),
      ...(source.userId ? { ownerId: source.userId } : {}),
    },
  });
  if (!decision.allowed) return decision.reason;
  const who = `${event.platform}:${event.userId}`;
  await store.cancelTask(target.id, `cancelled by ${who}`, who);
  await store.recordAudit({
    actor: who,
    action: 'task.cancel',
    target: `task:${target.id}`,
    outcome: 'succeeded',
    workspace: workspaceKeyOf(event),
  });
  return `Cancelled task ${target.id}.`;
}

/** `status`: what the workers are doing, and this workspace's model usage this month. */
async function statusText(store: Store, event: NormalizedEvent): Promise<string> {
  const [queued, running] = await Promise.all([
    store.countTasks({ status: 'queued' }),
    store.countTasks({ status: 'running' }),
  ]);
  // This task itself is running; do not count it.
  const tasksLine = `Working on ${Math.max(0, running - 1)} other task(s); ${queued} waiting.`;
  // Model usage of this workspace since the start of the month (UTC), from the stored model calls.
  const now = new Date();
  const usage = await store.usageSummary({
    workspaceKey: workspaceKeyOf(event),
    since: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
  });
  const usageLine = `Model usage this month: ${usage.modelCalls} call(s), ${usage.tokensIn} tokens in, ${usage.tokensOut} out, $${usage.costUsd.toFixed(2)}.`;
  return `${tasksLine}\n${usageLine}`;
}

interface CommandTurn {
  event: NormalizedEvent;
  sink: ReplySink;
  task: TaskRecord;
  ctx: TaskContext;
  conversationId: string;
  say: (text: string) => Promise<{ reply: string }>;
}

/**
 * `run <lang>`: the policy first (a refusal is one line), then, when the policy wants it, an
 * approval showing the code (denied or timed out: nothing runs), then the sandbox.
 */
async function runCommand(
  deps: RouterDeps & { access: Access },
  turn: CommandTurn,
  command: { lang: string; code: string },
): Promise<Record<string, unknown>> {
  const { event, sink, task, ctx, say } = turn;
  const decision = await deps.access.check(event, 'run');
  if (!decision.allowed) return { ...(await say(decision.reason)), refused: 'run' };
  if (!deps.codeRunner) return say(NO_SANDBOX_TEXT);
  if (decision.approvalBy) {
    const outcome = await awaitApproval(deps.store, {
      event,
      sink,
      taskId: task.id,
      action: 'run',
      approverRole: decision.approvalBy,
      summary: `run ${command.lang}\n${command.code}`,
      timeoutMs: deps.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
      signal: ctx.signal,
    });
    if (outcome.verdict !== 'approved') return { approval: outcome.verdict };
  }
  const { codeRunner } = deps;
  const run = { event, sink, taskId: task.id, signal: ctx.signal };
  const { text, exitCode } = await runCode({ ...deps, codeRunner }, run, command);
  await deps.store.appendMessage(turn.conversationId, { role: 'assistant', text });
  return { reply: text, exitCode };
}

export function createEventHandler(deps: RouterDeps): TaskHandler {
  const { store } = deps;
  const access = deps.access ?? createAccess(accessPortsOf(store), defaultAccessSettings(), deps.logger);

  return async (task: TaskRecord, ctx: TaskContext) => {
    const parsed = normalizedEventSchema.safeParse(task.payload);
    if (!parsed.success) {
      throw new DeckhandError('BAD_REQUEST', 'This event could not be read.', {
        detail: parsed.error.message,
      });
    }
    const event = parsed.data;
    const sink = deps.sinkFor(event);

    const limited = await overLimit(deps, event, sink);
    if (limited) return limited;

    const conversation = await store.upsertConversation({
      platform: event.platform,
      workspaceId: event.workspaceId,
      channelId: event.channelId,
      threadId: event.threadId,
    });
    const input = event.command ? event.command.args : event.text;
    await store.appendMessage(conversation.id, { role: 'user', text: input, authorId: event.userId });
    const say = async (text: string) => {
      await sink.post(text);
      await store.appendMessage(conversation.id, { role: 'assistant', text });
      return { reply: text };
    };

    const command = parseCommand(input);
    switch (command.name) {
      case 'error':
        return say(command.message);
      case 'help':
        return say(HELP_TEXT);
      case 'access': {
        const run = { event, sink, signal: ctx.signal };
        return say(await handleAccessCommand({ store, access, linker: deps.linker }, run, command.command));
      }
      case 'decide':
        return say(await handleApprovalDecision({ store, access }, event, command));
      case 'status':
        return say(await statusText(store, event));
      case 'cancel':
        return say(await cancelTask({ store, access }, event, task.id, command.taskId));
      case 'digest':
        return say(
          await handleDigestCommand(command.args, {
            store,
            event,
            ...(deps.digestMinIntervalMinutes ? { minIntervalMinutes: deps.digestMinIntervalMinutes } : {}),
            authorize: async (action, repos) => {
              const decision = await access.check(event, action, repos ? { repos } : {});
              return decision.allowed ? undefined : decision.reason;
            },
          }),
        );
      case 'run':
        return runCommand(
          { ...deps, access },
          { event, sink, task, ctx, say, conversationId: conversation.id },
          command,
        );
      case 'chat': {
        if (event.platform === 'github') {
          // A GitHub mention is the GitHub work's, which checks write access first; never the chat
          // orchestrator's, whose tools (code runs) would skip that check.
          if (!deps.github) return say(NO_GITHUB_ACCESS_TEXT);
          return { github: await deps.github(event, sink, { ...ctx, taskId: task.id }) };
        }
        const asking = await access.check(event, 'ask');
        if (!asking.allowed) return { ...(await say(asking.reason)), refused: 'ask' };
        if (!deps.orchestrator) return say(NO_MODEL_TEXT);
        const reply = await deps.orchestrator(event, sink, { ...ctx, taskId: task.id });
        await store.appendMessage(conversation.id, { role: 'assistant', text: reply });
        return { reply };
      }
    }
  };
}
