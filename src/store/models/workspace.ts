import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/** A platform installation (Slack team, Discord guild, GitHub App installation) and its settings. */
export interface WorkspaceDoc {
  platform: Platform;
  externalId: string;
  name?: string;
  settings: {
    defaultModel?: string;
    allowedRepos: string[];
    digestChannel?: string;
    admins: string[];
  };
  createdAt: Date;
  updatedAt: Date;
}

export const workspaceSchema = new Schema<WorkspaceDoc>(
  {
    platform: { type: String, enum: PLATFORMS, required: true },
    externalId: { type: String, required: true, minlength: 1 },
    name: { type: String },
    settings: {
      defaultModel: { type: String },
      allowedRepos: { type: [String], default: [] },
      digestChannel: { type: String },
      admins: { type: [String], default: [] },
    },
  },
  { timestamps: true, strict: 'throw' },
);
workspaceSchema.index({ platform: 1, externalId: 1 }, { unique: true });
