import { Schema } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import { assertTransition, TASK_STATUSES, type TaskStatus } from '../task-status.js';
import { PLATFORMS, type Platform } from './platform.js';

export interface TaskSource {
  platform: Platform;
  workspaceId?: string;
  channelId?: string;
  threadId?: string;
  userId?: string;
  /** The platform's delivery or event id that produced this task. */
  eventId?: string;
}

export interface TaskLink {
  label: string;
  url: string;
}

export interface TaskDoc {
  kind: string;
  source: TaskSource;
  payload: unknown;
  status: TaskStatus;
  priority: number;
  attempts: number;
  maxAttempts: number;
  /** Not claimable before this time (retry backoff, delayed work). */
  runAfter: Date;
  leaseOwner?: string | null;
  leaseExpiresAt?: Date | null;
  result?: unknown;
  lastError?: { code: string; message: string } | null;
  links: TaskLink[];
  startedAt?: Date | null;
  finishedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Limits the schema enforces; also checked by insertTasks, which writes without mongoose's validation. */
export const TASK_KIND_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
export const EVENT_ID_MAX = 512;
export const PRIORITY_MAX = 100;
export const MAX_ATTEMPTS_MAX = 20;

export const taskSchema = new Schema<TaskDoc>(
  {
    kind: {
      type: String,
      required: true,
      match: [TASK_KIND_PATTERN, 'must be lowercase letters, digits and . _ : - (got {VALUE})'],
    },
    source: {
      platform: { type: String, enum: PLATFORMS, required: true },
      workspaceId: String,
      channelId: String,
      threadId: String,
      userId: String,
      // The platform's delivery key; the task's _id derives from it (the ingest dedupe).
      eventId: { type: String, minlength: 1, maxlength: EVENT_ID_MAX },
    },
    payload: { type: Schema.Types.Mixed, default: {} },
    status: { type: String, enum: TASK_STATUSES, default: 'queued', required: true },
    priority: { type: Number, default: 0, min: -PRIORITY_MAX, max: PRIORITY_MAX },
    attempts: { type: Number, default: 0, min: 0 },
    maxAttempts: { type: Number, default: 3, min: 1, max: MAX_ATTEMPTS_MAX },
    runAfter: { type: Date, default: () => new Date() },
    leaseOwner: { type: String, default: null },
    leaseExpiresAt: { type: Date, default: null },
    result: { type: Schema.Types.Mixed },
    lastError: { type: { _id: false, code: String, message: String }, default: null },
    links: {
      type: [{ _id: false, label: { type: String, required: true }, url: { type: String, required: true } }],
      default: [],
    },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, strict: 'throw', minimize: false },
);
// Claim order: highest priority, then oldest due. Lease sweep: running tasks by expiry.
taskSchema.index({ status: 1, priority: -1, runAfter: 1 });
taskSchema.index({ status: 1, leaseExpiresAt: 1 });
taskSchema.index({ 'source.platform': 1, 'source.eventId': 1 });

// Documents saved through mongoose (not only the repository functions) obey the state machine too.
taskSchema.post('init', function rememberLoadedStatus() {
  this.$locals.loadedStatus = this.status;
});
taskSchema.pre('save', function refuseIllegalTransition() {
  const from = this.$locals.loadedStatus as TaskStatus | undefined;
  if (this.isNew) {
    if (this.status !== 'queued') {
      throw new DeckhandError('ILLEGAL_TRANSITION', `A new task must start queued, not ${this.status}.`);
    }
    return;
  }
  if (from && this.isModified('status') && from !== this.status)
    assertTransition(from, this.status, String(this._id));
});
