import type { Connection, Model } from 'mongoose';
import { type AdminSessionDoc, adminSessionSchema } from './admin-session.js';
import {
  type ApprovalDecisionDoc,
  type ApprovalDoc,
  approvalDecisionSchema,
  approvalSchema,
} from './approval.js';
import { type AuditEntryDoc, auditEntrySchema } from './audit.js';
import { type BotThreadDoc, botThreadSchema } from './bot-thread.js';
import { type ConversationDoc, conversationSchema } from './conversation.js';
import { type DeliveryDoc, deliverySchema } from './delivery.js';
import { type DigestRunDoc, digestRunSchema } from './digest-run.js';
import { type InstallationDoc, installationSchema } from './installation.js';
import { type MembershipDoc, membershipSchema } from './membership.js';
import { type MessageDoc, messageSchema } from './message.js';
import { type PersonLinkDoc, personLinkSchema } from './person-link.js';
import { type ReplyAnchorDoc, replyAnchorSchema } from './reply-anchor.js';
import { type RepoConnectionDoc, repoConnectionSchema } from './repo-connection.js';
import { type RunDoc, runSchema } from './run.js';
import { type ScheduleDoc, scheduleSchema } from './schedule.js';
import { type TaskDoc, taskSchema } from './task.js';
import { type TaskQueueEntryDoc, taskQueueEntrySchema } from './task-queue.js';
import { type TaskTransitionDoc, taskTransitionSchema } from './task-transition.js';
import { type ThreadWindowDoc, threadWindowSchema } from './thread-window.js';
import { type WorkspaceDoc, workspaceSchema } from './workspace.js';

export interface Models {
  Workspace: Model<WorkspaceDoc>;
  Conversation: Model<ConversationDoc>;
  Message: Model<MessageDoc>;
  Task: Model<TaskDoc>;
  TaskTransition: Model<TaskTransitionDoc>;
  TaskQueueEntry: Model<TaskQueueEntryDoc>;
  ThreadWindow: Model<ThreadWindowDoc>;
  Run: Model<RunDoc>;
  Schedule: Model<ScheduleDoc>;
  Delivery: Model<DeliveryDoc>;
  Installation: Model<InstallationDoc>;
  BotThread: Model<BotThreadDoc>;
  AuditEntry: Model<AuditEntryDoc>;
  DigestRun: Model<DigestRunDoc>;
  AdminSession: Model<AdminSessionDoc>;
  PersonLink: Model<PersonLinkDoc>;
  Membership: Model<MembershipDoc>;
  RepoConnection: Model<RepoConnectionDoc>;
  Approval: Model<ApprovalDoc>;
  ApprovalDecision: Model<ApprovalDecisionDoc>;
  ReplyAnchor: Model<ReplyAnchorDoc>;
}

export function registerModels(connection: Connection): Models {
  return {
    Workspace: connection.model<WorkspaceDoc>('Workspace', workspaceSchema),
    Conversation: connection.model<ConversationDoc>('Conversation', conversationSchema),
    Message: connection.model<MessageDoc>('Message', messageSchema),
    Task: connection.model<TaskDoc>('Task', taskSchema),
    TaskTransition: connection.model<TaskTransitionDoc>('TaskTransition', taskTransitionSchema),
    TaskQueueEntry: connection.model<TaskQueueEntryDoc>('TaskQueueEntry', taskQueueEntrySchema),
    ThreadWindow: connection.model<ThreadWindowDoc>('ThreadWindow', threadWindowSchema),
    Run: connection.model<RunDoc>('Run', runSchema),
    Schedule: connection.model<ScheduleDoc>('Schedule', scheduleSchema),
    Delivery: connection.model<DeliveryDoc>('Delivery', deliverySchema),
    Installation: connection.model<InstallationDoc>('Installation', installationSchema),
    BotThread: connection.model<BotThreadDoc>('BotThread', botThreadSchema),
    AuditEntry: connection.model<AuditEntryDoc>('AuditEntry', auditEntrySchema),
    DigestRun: connection.model<DigestRunDoc>('DigestRun', digestRunSchema),
    AdminSession: connection.model<AdminSessionDoc>('AdminSession', adminSessionSchema),
    PersonLink: connection.model<PersonLinkDoc>('PersonLink', personLinkSchema),
    Membership: connection.model<MembershipDoc>('Membership', membershipSchema),
    RepoConnection: connection.model<RepoConnectionDoc>('RepoConnection', repoConnectionSchema),
    Approval: connection.model<ApprovalDoc>('Approval', approvalSchema),
    ApprovalDecision: connection.model<ApprovalDecisionDoc>('ApprovalDecision', approvalDecisionSchema),
    ReplyAnchor: connection.model<ReplyAnchorDoc>('ReplyAnchor', replyAnchorSchema),
  };
}

export type { AdminSessionDoc } from './admin-session.js';
export type { AuditEntryDoc, AuditOutcome } from './audit.js';
export type { ConversationDoc } from './conversation.js';
export type { DeliveryDoc } from './delivery.js';
export type { DigestRunDoc, DigestRunStatus } from './digest-run.js';
export type { InstallationDoc } from './installation.js';
export { type MembershipDoc, WORKSPACE_ROLES, type WorkspaceRole } from './membership.js';
export type { MessageDoc, MessageRole, ToolCallRecord, ToolResultRecord } from './message.js';
export type { PersonLinkDoc } from './person-link.js';
export { PLATFORMS, type Platform } from './platform.js';
export type { RepoConnectionDoc } from './repo-connection.js';
export type { RunDoc, RunStatus } from './run.js';
export type { ScheduleDoc } from './schedule.js';
export type { TaskDoc, TaskLink, TaskSource } from './task.js';
export type { TaskQueueEntryDoc } from './task-queue.js';
export type { TaskTransitionDoc } from './task-transition.js';
export type { ThreadWindowDoc } from './thread-window.js';
export type { WorkspaceDoc } from './workspace.js';
