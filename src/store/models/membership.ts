import { Schema } from 'mongoose';
import { ROLES, type Role } from '../../core/index.js';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A person's role in a workspace (who may do what there), and who granted it. `_id` is
 * `platform:workspaceId:userId` so the check on every request is a primary-key read (FerretDB pushes
 * only `_id` filters down); the triple is also a unique index. Setting a role replaces the old one.
 */
/** The policy's roles (src/core/policy.ts), as the store names them. */
export const WORKSPACE_ROLES = ROLES;
export type WorkspaceRole = Role;

export interface MembershipDoc {
  _id: string;
  platform: Platform;
  workspaceId: string;
  userId: string;
  role: WorkspaceRole;
  grantedBy: string;
  createdAt: Date;
  updatedAt: Date;
}

export const membershipSchema = new Schema<MembershipDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    workspaceId: { type: String, required: true, minlength: 1 },
    userId: { type: String, required: true, minlength: 1 },
    role: { type: String, enum: WORKSPACE_ROLES, required: true },
    grantedBy: { type: String, required: true, minlength: 1 },
  },
  { timestamps: true, strict: 'throw', versionKey: false },
);
membershipSchema.index({ platform: 1, workspaceId: 1, userId: 1 }, { unique: true });

export function membershipId(platform: Platform, workspaceId: string, userId: string): string {
  return `${platform}:${workspaceId}:${userId}`;
}
