/**
 * The wait for an approval (`access.approvals`): an action that needs one is recorded, shown in the
 * thread with Approve / Deny buttons (or the typed `approve <id>` / `deny <id>`), and held until a
 * person with the right role decides, the time runs out, or the task is cancelled. The decision is
 * stored through a port (the store implements it), first decision wins; whoever presses the button
 * is checked by the router with `decide(..., 'approve', ...)`, not here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { workspaceKeyOf } from './access.js';
import type { NormalizedEvent } from './contracts/event.js';
import type { PostedReply, ReplySink } from './contracts/reply.js';
import type { Role } from './policy.js';

export const APPROVAL_ACTIONS = ['run', 'repo.write'] as const;
export type ApprovalAction = (typeof APPROVAL_ACTIONS)[number];
export const APPROVAL_VERDICTS = ['approved', 'denied', 'expired'] as const;
export type ApprovalVerdict = (typeof APPROVAL_VERDICTS)[number];

/** What the store keeps about an approval (src/store's createApproval takes the same). */
export interface ApprovalInput {
  /** `platform:workspaceId`. */
  workspace: string;
  channelId: string;
  threadId: string;
  requesterId: string;
  action: ApprovalAction;
  summary: string;
  approverRole: Role;
  taskId: string;
  expiresAt: Date;
}

/** Where approvals and their decisions are kept. The first decision recorded holds. */
export interface ApprovalPort {
  createApproval(input: ApprovalInput): Promise<{ id: string }>;
  /** Records a decision unless one is already there; returns the one that holds (`first`: this call's). */
  decideApproval(
    id: string,
    verdict: ApprovalVerdict,
    by: string,
  ): Promise<{ verdict: ApprovalVerdict; by: string; at: Date; first: boolean }>;
  approvalDecisionOf(id: string): Promise<{ verdict: ApprovalVerdict; by: string } | undefined>;
  /** Where an approval nobody gave in time is written down (the store's audit log). */
  recordAudit?(entry: {
    actor: string;
    action: string;
    target: string;
    outcome: 'expired';
    workspace: string;
    detail: Record<string, unknown>;
  }): Promise<unknown>;
}

export interface ApprovalRequest {
  /** The request that needs the approval: who asked, and where to ask. */
  event: NormalizedEvent;
  sink: ReplySink;
  taskId: string;
  action: ApprovalAction;
  /** The least role an approver needs. */
  approverRole: Role;
  /** What will happen, shown before the click: the code, or the repository, branch and files. */
  summary: string;
  timeoutMs: number;
  /** The task's signal: cancelling the task stops the wait. */
  signal: AbortSignal;
  /** How often the decision is read (default 1000 ms). */
  pollMs?: number;
}

export type ApprovalOutcome =
  | { verdict: 'approved'; by: string }
  | { verdict: 'denied'; by: string }
  | { verdict: 'expired' }
  | { verdict: 'cancelled' };

/** `by` of the expiry recorded when the time runs out, and when the task is cancelled. */
export const APPROVAL_TIMEOUT_BY = 'timeout';
export const APPROVAL_CANCELLED_BY = 'cancelled';

const DEFAULT_POLL_MS = 1000;
/** A summary longer than this is cut in the message (the full text is in the store). */
const SUMMARY_SHOWN = 2500;

const WHAT: Record<ApprovalAction, string> = {
  run: 'run code',
  'repo.write': 'write to a repository',
};

/** A user as the platform shows a mention of them. */
function mention(platform: NormalizedEvent['platform'], userId: string): string {
  if (platform === 'slack' || platform === 'discord') return `<@${userId}>`;
  if (platform === 'github') return `@${userId}`;
  return userId;
}

/** `30 minutes`, `1 minute`, `45 seconds`. */
export function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes >= 1) return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  const seconds = Math.max(1, Math.round(ms / 1000));
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

function shownSummary(summary: string): string {
  const text = summary.length > SUMMARY_SHOWN ? `${summary.slice(0, SUMMARY_SHOWN)}\n…(cut)` : summary;
  return text.includes('```') ? text : `\`\`\`\n${text}\n\`\`\``;
}

function whoMay(role: Role): string {
  return role === 'owner' ? 'a workspace owner' : `a workspace ${role} or above`;
}

function askText(request: ApprovalRequest, id: string, expiresAt: Date): string {
  const { event } = request;
  const typed =
    event.platform === 'github'
      ? `reply mentioning me with \`approve ${id}\` or \`deny ${id}\``
      : `press a button, or reply \`approve ${id}\` or \`deny ${id}\``;
  return [
    `Approval needed: ${mention(event.platform, event.userId)} asked to ${WHAT[request.action]}.`,
    'What will happen:',
    shownSummary(request.summary),
    `Who may approve: ${whoMay(request.approverRole)}, other than the person who asked.`,
    `To decide, ${typed}.`,
    `Expires in ${describeDuration(request.timeoutMs)} (${expiresAt.toISOString().slice(11, 16)} UTC). Approval id: \`${id}\`.`,
  ].join('\n');
}

function outcomeText(request: ApprovalRequest, id: string, outcome: ApprovalOutcome): string {
  const who = (by: string) => mention(request.event.platform, by);
  const line =
    outcome.verdict === 'approved'
      ? `Approved by ${who(outcome.by)}.`
      : outcome.verdict === 'denied'
        ? `Denied by ${who(outcome.by)}: nothing ran.`
        : outcome.verdict === 'expired'
          ? `No one approved within ${describeDuration(request.timeoutMs)}: nothing ran.`
          : 'Cancelled before anyone approved: nothing ran.';
  return [
    `${line} (approval \`${id}\`: ${mention(request.event.platform, request.event.userId)} asked to ${WHAT[request.action]})`,
    shownSummary(request.summary),
  ].join('\n');
}

function toOutcome(decision: { verdict: ApprovalVerdict; by: string }): ApprovalOutcome {
  if (decision.verdict === 'approved') return { verdict: 'approved', by: decision.by };
  if (decision.verdict === 'denied') return { verdict: 'denied', by: decision.by };
  return decision.by === APPROVAL_CANCELLED_BY ? { verdict: 'cancelled' } : { verdict: 'expired' };
}

/** Sleeps `ms`, or less when the signal fires (it never throws for the abort). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

/**
 * Reads the decision until there is one, the time runs out (the expiry is recorded then, unless
 * someone decided first), or the signal fires. A failed read is tried again at the next poll: a
 * store outage does not end the wait early, and no decision is ever assumed.
 */
async function waitForDecision(
  port: ApprovalPort,
  id: string,
  expiresAt: Date,
  pollMs: number,
  signal: AbortSignal,
): Promise<ApprovalOutcome> {
  for (;;) {
    if (signal.aborted) {
      // Recorded so a late approve finds the request decided; the task is gone either way.
      await port.decideApproval(id, 'expired', APPROVAL_CANCELLED_BY).catch(() => undefined);
      return { verdict: 'cancelled' };
    }
    const decision = await port.approvalDecisionOf(id).catch(() => undefined);
    if (decision) return toOutcome(decision);
    const left = expiresAt.getTime() - Date.now();
    if (left <= 0) return toOutcome(await port.decideApproval(id, 'expired', APPROVAL_TIMEOUT_BY));
    await pause(Math.min(pollMs, left), signal);
  }
}

/**
 * Asks for an approval in the thread and waits for the outcome. Posts one message (who asked, what
 * will happen, who may approve, the id and its typed form, when it expires) with Approve / Deny
 * buttons, and edits it, without the buttons, to say the outcome. Only 'approved' lets the action go.
 */
export async function awaitApproval(port: ApprovalPort, request: ApprovalRequest): Promise<ApprovalOutcome> {
  const { event, sink, signal } = request;
  if (signal.aborted) return { verdict: 'cancelled' };
  const expiresAt = new Date(Date.now() + request.timeoutMs);
  const { id } = await port.createApproval({
    workspace: workspaceKeyOf(event),
    channelId: event.channelId,
    threadId: event.threadId,
    requesterId: event.userId,
    action: request.action,
    summary: request.summary,
    approverRole: request.approverRole,
    taskId: request.taskId,
    expiresAt,
  });
  const posted: PostedReply = await sink.post(askText(request, id, expiresAt), {
    actions: [
      { label: 'Approve', command: `approve ${id}`, style: 'primary' },
      { label: 'Deny', command: `deny ${id}`, style: 'danger' },
    ],
  });
  let outcome: ApprovalOutcome;
  try {
    outcome = await waitForDecision(port, id, expiresAt, request.pollMs ?? DEFAULT_POLL_MS, signal);
  } catch (error) {
    await sink
      .update(posted, `The approval \`${id}\` could not be checked: nothing ran.`)
      .catch(() => undefined);
    throw error;
  }
  // The outcome stands even if the edit fails: the buttons left behind find the request decided.
  await sink.update(posted, outcomeText(request, id, outcome)).catch(() => undefined);
  if (outcome.verdict === 'expired') {
    await port
      .recordAudit?.({
        actor: `${event.platform}:${event.userId}`,
        action: 'approval.expire',
        target: `approval:${id}`,
        outcome: 'expired',
        workspace: workspaceKeyOf(event),
        detail: { action: request.action, taskId: request.taskId, timeoutMs: request.timeoutMs },
      })
      .catch(() => undefined);
  }
  return outcome;
}
