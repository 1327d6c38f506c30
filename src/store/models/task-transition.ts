import { Schema, type Types } from 'mongoose';

/**
 * The decision log of the task queue. Each attempt of a task has at most one `start` (the claim) and
 * one `end` (complete, fail, requeue, cancel), enforced by a unique index. Inserting the record IS
 * the decision; writing the task document afterwards applies it, and can be re-applied.
 *
 * Why not a conditional findOneAndUpdate on the task alone: FerretDB 1.x runs findAndModify and
 * update as read-then-write by _id, so two workers can both "win" the same queued task (seen in
 * test/store/tasks.test.ts with 20 workers). A unique-index insert is atomic on every server.
 */
export interface TaskTransitionDoc {
  taskId: Types.ObjectId;
  attempt: number;
  phase: 'start' | 'end';
  by: string;
  /** The task fields this decision sets, re-applied by the lease sweeper if a write was lost. */
  set: Record<string, unknown>;
  at: Date;
}

export const taskTransitionSchema = new Schema<TaskTransitionDoc>(
  {
    taskId: { type: Schema.Types.ObjectId, required: true },
    attempt: { type: Number, required: true, min: 0 },
    phase: { type: String, enum: ['start', 'end'], required: true },
    by: { type: String, required: true },
    set: { type: Schema.Types.Mixed, default: {} },
    at: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false, minimize: false },
);
taskTransitionSchema.index({ taskId: 1, attempt: 1, phase: 1 }, { unique: true });
taskTransitionSchema.index({ at: 1 });
