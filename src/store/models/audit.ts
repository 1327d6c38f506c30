/** The audit trail's shape: who did what to what, in which workspace, and how it ended. */
import { Schema } from 'mongoose';
import { PLATFORMS } from './platform.js';

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'succeeded', 'failed', 'approved', 'expired'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** `<platform>:<workspaceId>`, e.g. `slack:T1`, `github:12345`. */
export const AUDIT_WORKSPACE_PATTERN = new RegExp(`^(${PLATFORMS.join('|')}):[^\\s]+$`);

/** Who did what to what, and how it ended. Append-only. */
export interface AuditEntryDoc {
  actor: string;
  action: string;
  target: string;
  outcome: AuditOutcome;
  detail?: unknown;
  /** `<platform>:<workspaceId>` (e.g. `slack:T1`, `github:12345`); absent on entries that belong to no workspace. */
  workspace?: string;
  at: Date;
}

export const auditEntrySchema = new Schema<AuditEntryDoc>(
  {
    actor: { type: String, required: true },
    action: { type: String, required: true },
    target: { type: String, default: '' },
    outcome: { type: String, enum: AUDIT_OUTCOMES, required: true },
    detail: { type: Schema.Types.Mixed },
    workspace: {
      type: String,
      match: [AUDIT_WORKSPACE_PATTERN, 'must look like <platform>:<workspaceId>, e.g. slack:T1'],
    },
    at: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
auditEntrySchema.index({ at: -1 });
auditEntrySchema.index({ actor: 1, at: -1 });
auditEntrySchema.index({ workspace: 1, at: -1 });
