export { describeMongoUri } from './connection.js';
export { AUDIT_OUTCOMES, AUDIT_WORKSPACE_PATTERN } from './models/audit.js';
export type {
  AuditEntryDoc,
  AuditOutcome,
  ConversationDoc,
  DigestRunDoc,
  DigestRunStatus,
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
  WorkspaceRole,
} from './models/index.js';
export { PLATFORMS, WORKSPACE_ROLES } from './models/index.js';
export type { AccountKey, GithubLink, RoleGrant, WorkspaceKey } from './repo/access.js';
export { normalizeRepo } from './repo/access.js';
export type { RunSummary, TaskActivityRow, WorkspaceUsage } from './repo/admin.js';
export type { AdminSessionRecord } from './repo/admin-sessions.js';
export type { ApprovalDecision, ApprovalInput, ApprovalRecord } from './repo/approvals.js';
export type {
  ConversationKey,
  ConversationRecord,
  MessageRecord,
  NewMessage,
  UsageTotals,
} from './repo/conversations.js';
export type {
  DigestClaim,
  DigestRunRecord,
  DigestRunUpdate,
  NewSchedule,
  ScheduleRecord,
} from './repo/digests.js';
export type { InstallationInput, InstallationRecord, RenewedToken } from './repo/installations.js';
export { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditFilter } from './repo/records.js';
export { backoffMs, type EnqueueTaskInput, type FailOutcome, type TaskRecord } from './repo/tasks.js';
export { createSecretBox, type SecretBox, secretKeyId } from './secret-box.js';
export { accessPortsOf, openStore, type Store, type StoreOptions } from './store.js';
export {
  assertTransition,
  canTransition,
  isFinished,
  TASK_STATUSES,
  type TaskStatus,
} from './task-status.js';
