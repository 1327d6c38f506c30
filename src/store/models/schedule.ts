import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/** A digest definition: what to summarise, where to post it, and when (cron in an IANA time zone). */
export interface ScheduleDoc {
  name: string;
  kind: 'digest';
  platform: Platform;
  workspaceId: string;
  channelId: string;
  cron: string;
  timezone: string;
  repos: string[];
  enabled: boolean;
  /** Due times falling on a Saturday or Sunday (in `timezone`) are skipped. */
  skipWeekends?: boolean;
  createdBy?: string;
  /** Due time of the last digest posted: the start of the next digest's window. */
  lastRunAt?: Date | null;
  /** The latest due time already claimed: a hint that spares the scheduler a losing insert. */
  lastDueAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const scheduleSchema = new Schema<ScheduleDoc>(
  {
    name: { type: String, required: true, match: /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/ },
    kind: { type: String, enum: ['digest'], default: 'digest' },
    platform: { type: String, enum: PLATFORMS, required: true },
    workspaceId: { type: String, required: true },
    channelId: { type: String, required: true },
    cron: { type: String, required: true },
    timezone: { type: String, default: 'UTC' },
    repos: { type: [String], default: [] },
    enabled: { type: Boolean, default: true },
    skipWeekends: { type: Boolean, default: false },
    createdBy: { type: String },
    lastRunAt: { type: Date, default: null },
    lastDueAt: { type: Date, default: null },
  },
  { timestamps: true, strict: 'throw' },
);
scheduleSchema.index({ platform: 1, workspaceId: 1, name: 1 }, { unique: true });
