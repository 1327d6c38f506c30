import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A GitHub repository connected to a chat workspace: Deckhand works on it when asked from there.
 * `repo` is `owner/name` lower-cased (GitHub names are case-insensitive). `_id` is
 * `platform:workspaceId:repo`, so "is it connected" is a primary-key read (FerretDB pushes only `_id`
 * filters down), and connecting is a plain insert that a duplicate key refuses: no transaction.
 */
export interface RepoConnectionDoc {
  _id: string;
  platform: Platform;
  workspaceId: string;
  repo: string;
  connectedBy: string;
  createdAt: Date;
}

export const repoConnectionSchema = new Schema<RepoConnectionDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    workspaceId: { type: String, required: true, minlength: 1 },
    repo: { type: String, required: true, minlength: 3, maxlength: 201 },
    connectedBy: { type: String, required: true, minlength: 1 },
    createdAt: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
repoConnectionSchema.index({ platform: 1, workspaceId: 1, repo: 1 }, { unique: true });

export function repoConnectionId(platform: Platform, workspaceId: string, repo: string): string {
  return `${platform}:${workspaceId}:${repo}`;
}
