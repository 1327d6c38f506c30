export { describeMongoUri } from './connection.js';
export type {
  AuditEntryDoc,
  AuditOutcome,
  ConversationDoc,
  MessageDoc,
  MessageRole,
  Platform,
  RunDoc,
  RunStatus,
  ScheduleDoc,
  TaskDoc,
  TaskLink,
  TaskSource,
  ToolCallRecord,
  ToolResultRecord,
  WorkspaceDoc,
} from './models/index.js';
export { PLATFORMS } from './models/index.js';
export type { ConversationKey, ConversationRecord, MessageRecord, NewMessage } from './repo/conversations.js';
export type { DeliveryOutcome } from './repo/deliveries.js';
export { backoffMs, type EnqueueTaskInput, type FailOutcome, type TaskRecord } from './repo/tasks.js';
export { openStore, type Store, type StoreOptions } from './store.js';
export {
  assertTransition,
  canTransition,
  isFinished,
  TASK_STATUSES,
  type TaskStatus,
} from './task-status.js';
