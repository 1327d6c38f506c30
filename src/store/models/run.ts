import { Schema, type Types } from 'mongoose';

export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'timeout', 'killed', 'error'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One sandbox execution. Output is stored truncated; the full output never lives in the database. */
export interface RunDoc {
  taskId?: Types.ObjectId | null;
  image: string;
  command: string[];
  status: RunStatus;
  exitCode?: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs?: number | null;
  limits: { cpus: number; memoryMb: number; pids: number; timeoutSeconds: number; network: string };
  containerId?: string | null;
  startedAt: Date;
  finishedAt?: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const runSchema = new Schema<RunDoc>(
  {
    taskId: { type: Schema.Types.ObjectId, default: null },
    image: { type: String, required: true },
    command: { type: [String], required: true },
    status: { type: String, enum: RUN_STATUSES, default: 'running' },
    exitCode: { type: Number, default: null },
    stdout: { type: String, default: '', maxlength: 100_000 },
    stderr: { type: String, default: '', maxlength: 100_000 },
    truncated: { type: Boolean, default: false },
    durationMs: { type: Number, default: null },
    limits: {
      cpus: { type: Number, required: true },
      memoryMb: { type: Number, required: true },
      pids: { type: Number, required: true },
      timeoutSeconds: { type: Number, required: true },
      network: { type: String, required: true },
    },
    containerId: { type: String, default: null },
    startedAt: { type: Date, default: () => new Date() },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, strict: 'throw' },
);
runSchema.index({ taskId: 1 });
runSchema.index({ status: 1, startedAt: 1 });
