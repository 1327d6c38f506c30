import type { Connection, Model } from 'mongoose';
import { type AuditEntryDoc, auditEntrySchema } from './audit.js';
import { type ConversationDoc, conversationSchema } from './conversation.js';
import { type DeliveryDoc, deliverySchema } from './delivery.js';
import { type MessageDoc, messageSchema } from './message.js';
import { type RunDoc, runSchema } from './run.js';
import { type ScheduleDoc, scheduleSchema } from './schedule.js';
import { type TaskDoc, taskSchema } from './task.js';
import { type TaskTransitionDoc, taskTransitionSchema } from './task-transition.js';
import { type WorkspaceDoc, workspaceSchema } from './workspace.js';

export interface Models {
  Workspace: Model<WorkspaceDoc>;
  Conversation: Model<ConversationDoc>;
  Message: Model<MessageDoc>;
  Task: Model<TaskDoc>;
  TaskTransition: Model<TaskTransitionDoc>;
  Run: Model<RunDoc>;
  Schedule: Model<ScheduleDoc>;
  Delivery: Model<DeliveryDoc>;
  AuditEntry: Model<AuditEntryDoc>;
}

export function registerModels(connection: Connection): Models {
  return {
    Workspace: connection.model<WorkspaceDoc>('Workspace', workspaceSchema),
    Conversation: connection.model<ConversationDoc>('Conversation', conversationSchema),
    Message: connection.model<MessageDoc>('Message', messageSchema),
    Task: connection.model<TaskDoc>('Task', taskSchema),
    TaskTransition: connection.model<TaskTransitionDoc>('TaskTransition', taskTransitionSchema),
    Run: connection.model<RunDoc>('Run', runSchema),
    Schedule: connection.model<ScheduleDoc>('Schedule', scheduleSchema),
    Delivery: connection.model<DeliveryDoc>('Delivery', deliverySchema),
    AuditEntry: connection.model<AuditEntryDoc>('AuditEntry', auditEntrySchema),
  };
}

export type { AuditEntryDoc, AuditOutcome } from './audit.js';
export type { ConversationDoc } from './conversation.js';
export type { DeliveryDoc } from './delivery.js';
export type { MessageDoc, MessageRole, ToolCallRecord, ToolResultRecord } from './message.js';
export { PLATFORMS, type Platform } from './platform.js';
export type { RunDoc, RunStatus } from './run.js';
export type { ScheduleDoc } from './schedule.js';
export type { TaskDoc, TaskLink, TaskSource } from './task.js';
export type { TaskTransitionDoc } from './task-transition.js';
export type { WorkspaceDoc } from './workspace.js';
