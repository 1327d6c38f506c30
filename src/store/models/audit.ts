import { Schema } from 'mongoose';

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'succeeded', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Who did what to what, and how it ended. Append-only. */
export interface AuditEntryDoc {
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  detail?: unknown;
  at: Date;
}

export const auditEntrySchema = new Schema<AuditEntryDoc>(
  {
    actor: { type: String, required: true },
    action: { type: String, required: true },
    target: { type: String, default: '' },
    outcome: { type: String, enum: AUDIT_OUTCOMES, required: true },
    detail: { type: Schema.Types.Mixed },
    at: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
auditEntrySchema.index({ at: -1 });
auditEntrySchema.index({ actor: 1, at: -1 });
