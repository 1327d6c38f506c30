import { Schema, type Types } from 'mongoose';

/**
 * The decision log of scheduled digests: one record per attempt at posting one schedule's digest for
 * one due time. The unique (scheduleId, dueAt, attempt) index decides who runs an attempt, the way
 * TaskTransition decides task claims (see task-transition.ts): FerretDB 1.x runs findAndModify as
 * read-then-write, so Agenda's own job lock can let two processes run the same job; a unique insert
 * cannot. Attempt 0 is a queued occurrence (`digest run-now`); attempts 1..n are claims.
 */
export type DigestRunStatus =
  | 'queued'
  | 'running'
  | 'posted'
  | 'failed'
  | 'gave_up'
  | 'superseded'
  | 'skipped';

export interface DigestRunDoc {
  scheduleId: Types.ObjectId;
  dueAt: Date;
  attempt: number;
  status: DigestRunStatus;
  /** The process that holds (or held) this attempt. */
  by: string;
  manual: boolean;
  leaseExpiresAt?: Date | null;
  /** For a failed attempt: when the next attempt may start. */
  retryAt?: Date | null;
  error?: string | null;
  /** Platform id of the posted message. */
  messageId?: string | null;
  postedAt?: Date | null;
  at: Date;
}

export const digestRunSchema = new Schema<DigestRunDoc>(
  {
    scheduleId: { type: Schema.Types.ObjectId, required: true },
    dueAt: { type: Date, required: true },
    attempt: { type: Number, required: true, min: 0 },
    status: {
      type: String,
      enum: ['queued', 'running', 'posted', 'failed', 'gave_up', 'superseded', 'skipped'],
      required: true,
    },
    by: { type: String, required: true },
    manual: { type: Boolean, default: false },
    leaseExpiresAt: { type: Date, default: null },
    retryAt: { type: Date, default: null },
    error: { type: String, default: null },
    messageId: { type: String, default: null },
    postedAt: { type: Date, default: null },
    at: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
digestRunSchema.index({ scheduleId: 1, dueAt: 1, attempt: 1 }, { unique: true });
digestRunSchema.index({ status: 1 });
digestRunSchema.index({ at: 1 });
