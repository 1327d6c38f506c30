import { Schema } from 'mongoose';
import {
  APPROVAL_ACTIONS,
  APPROVAL_VERDICTS,
  type ApprovalAction,
  type ApprovalVerdict,
} from '../../core/index.js';
import { WORKSPACE_ROLES, type WorkspaceRole } from './membership.js';

/**
 * An action waiting for a person with the right role to approve it (`access.approvals`), and the
 * decision on it. The decision lives in its own collection, keyed by the approval's id: the first
 * insert wins and a second one is refused by the unique `_id`, which is atomic on every server
 * (FerretDB runs findAndModify as read-then-write, so a conditional update on the approval could
 * let two clicks both win).
 */
export { APPROVAL_ACTIONS, APPROVAL_VERDICTS, type ApprovalAction, type ApprovalVerdict };

/** Long enough for a page of code; a summary is shown in chat, where longer would be cut anyway. */
export const APPROVAL_SUMMARY_MAX = 20_000;

export interface ApprovalDoc {
  /** Short, url-safe, random: typed by people (`approve <id>`). */
  _id: string;
  /** `platform:workspaceId`. */
  workspace: string;
  channelId: string;
  /** Empty where a platform has no threads (the terminal). */
  threadId: string;
  requesterId: string;
  action: ApprovalAction;
  /** What will happen if approved: the code, or the repository, branch and files. */
  summary: string;
  /** The least role an approver needs. */
  approverRole: WorkspaceRole;
  taskId: string;
  expiresAt: Date;
  createdAt: Date;
}

export const approvalSchema = new Schema<ApprovalDoc>(
  {
    _id: { type: String },
    workspace: { type: String, required: true, minlength: 3 },
    channelId: { type: String, required: true, minlength: 1 },
    threadId: { type: String, default: '' },
    requesterId: { type: String, required: true, minlength: 1 },
    action: { type: String, enum: APPROVAL_ACTIONS, required: true },
    summary: { type: String, required: true, minlength: 1, maxlength: APPROVAL_SUMMARY_MAX },
    approverRole: { type: String, enum: WORKSPACE_ROLES, required: true },
    taskId: { type: String, required: true, minlength: 1 },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);

export interface ApprovalDecisionDoc {
  /** The approval's id: one decision per approval. */
  _id: string;
  verdict: ApprovalVerdict;
  /** Who decided: the approver's user id, or `timeout` / `cancelled` for an expiry. */
  by: string;
  at: Date;
}

export const approvalDecisionSchema = new Schema<ApprovalDecisionDoc>(
  {
    _id: { type: String },
    verdict: { type: String, enum: APPROVAL_VERDICTS, required: true },
    by: { type: String, required: true, minlength: 1 },
    at: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
