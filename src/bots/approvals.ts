/**
 * `approve <id>` / `deny <id>` (typed, or the Approve / Deny buttons, which send the same text):
 * the decision on an action waiting in another task (src/core awaitApproval). The policy decides who
 * may decide (the role the approval asks for, never the requester); the store keeps the first
 * decision only, so two clicks at once, or a click after the timeout, cannot both count. An approval
 * of another workspace is "not waiting here", whoever asks.
 */
import { type Access, type NormalizedEvent, workspaceKeyOf } from '../core/index.js';
import type { Store } from '../store/index.js';

const SAID: Record<'approved' | 'denied' | 'expired', string> = {
  approved: 'approved',
  denied: 'denied',
  expired: 'expired before anyone decided',
};

export async function handleApprovalDecision(
  deps: { store: Store; access: Access },
  event: NormalizedEvent,
  command: { verdict: 'approve' | 'deny'; approvalId?: string },
): Promise<string> {
  const { store, access } = deps;
  const id = command.approvalId;
  if (!id) return `Say which request: \`${command.verdict} <id>\` (the id is in the request's message).`;
  const approval = await store.getApproval(id);
  if (!approval || approval.workspace !== workspaceKeyOf(event)) return `No request ${id} is waiting here.`;
  const earlier = await store.approvalDecisionOf(id);
  if (earlier) return `Request ${id} was already ${SAID[earlier.verdict]}.`;
  const decision = await access.check(event, 'approve', {
    approval: { role: approval.approverRole, requesterId: approval.requesterId },
  });
  if (!decision.allowed) return decision.reason;
  const wanted = command.verdict === 'approve' ? 'approved' : 'denied';
  const held = await store.decideApproval(id, wanted, event.userId);
  await store.recordAudit({
    actor: `${event.platform}:${event.userId}`,
    action: `approval.${command.verdict}`,
    target: `approval:${id}`,
    outcome: held.first ? held.verdict : 'failed',
    detail: { action: approval.action, requester: approval.requesterId, taskId: approval.taskId },
    workspace: workspaceKeyOf(event),
  });
  if (!held.first) return `Request ${id} was already ${SAID[held.verdict]}.`;
  return wanted === 'approved'
    ? `Approved request ${id}: it goes ahead now.`
    : `Denied request ${id}: nothing runs.`;
}
