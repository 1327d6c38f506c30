import { Schema, type Types } from 'mongoose';

/**
 * The live tasks (queued or running), one small entry each, kept beside the tasks collection so the
 * two hot scans, claim and lease sweep, read a handful of small documents instead of every task ever
 * kept: FerretDB's SQLite handler pushes down only `_id` equality, so a filter on tasks reads them all.
 *
 * An index, never the truth: the task document and its TaskTransition decisions are. Entries are
 * written next to the task write they mirror; a stale entry is corrected or dropped by whoever reads
 * it (a claimer, the lease sweeper), and a missing one is re-added by the sweeper's reconcile.
 */
export interface TaskQueueEntryDoc {
  /** The task's id. */
  _id: Types.ObjectId;
  state: 'queued' | 'running';
  kind: string;
  priority: number;
  runAfter: Date;
  /** The task's attempts as of this entry: queued after attempt n, or running attempt n. */
  attempts: number;
  leaseOwner: string | null;
  /** Running only: as of the claim or the sweeper's last look (renewals write only the task). */
  leaseExpiresAt: Date | null;
}

export const taskQueueEntrySchema = new Schema<TaskQueueEntryDoc>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    state: { type: String, enum: ['queued', 'running'], required: true },
    kind: { type: String, required: true },
    priority: { type: Number, required: true },
    runAfter: { type: Date, required: true },
    attempts: { type: Number, required: true, min: 0 },
    leaseOwner: { type: String, default: null },
    leaseExpiresAt: { type: Date, default: null },
  },
  { strict: 'throw', versionKey: false, collection: 'taskqueue' },
);
// Claim order among queued entries; lease sweep among running ones.
taskQueueEntrySchema.index({ state: 1, priority: -1, runAfter: 1 });
taskQueueEntrySchema.index({ state: 1, leaseExpiresAt: 1 });
