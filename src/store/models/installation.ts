import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A chat app installed into a workspace (a Slack team, or a whole Enterprise Grid org) and the bot
 * credentials it granted. `_id` is `platform:teamId` (or `platform:enterprise:E…` for an org-wide
 * install), so every lookup on the hot path is a primary-key read: FerretDB's SQLite handler pushes
 * only `_id` filters down. Reinstalling replaces the record (last write wins, which is what a
 * reinstall means), so no atomic read-modify-write is needed.
 */
export interface InstallationDoc {
  _id: string;
  platform: Platform;
  teamId?: string;
  enterpriseId?: string;
  appId?: string;
  botUserId?: string;
  botId?: string;
  /** The bot token (xoxb-…). Never logged; only the reply sinks and Bolt's authorize read it. */
  botToken: string;
  /** With token rotation on: the refresh token (sealed like the bot token) and when the bot token expires. */
  refreshToken?: string;
  tokenExpiresAt?: Date;
  botScopes: string[];
  installedBy?: string;
  /** The platform SDK's own installation object (Bolt's `Installation`), handed back as it was. */
  raw: unknown;
  createdAt: Date;
  updatedAt: Date;
}

export const installationSchema = new Schema<InstallationDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    teamId: { type: String },
    enterpriseId: { type: String },
    appId: { type: String },
    botUserId: { type: String },
    botId: { type: String },
    botToken: { type: String, required: true, minlength: 1 },
    refreshToken: { type: String },
    tokenExpiresAt: { type: Date },
    botScopes: { type: [String], default: [] },
    installedBy: { type: String },
    raw: { type: Schema.Types.Mixed },
  },
  { timestamps: true, strict: 'throw', versionKey: false, minimize: false },
);

export function installationId(
  platform: Platform,
  teamId: string | undefined,
  enterpriseId?: string,
): string {
  return teamId ? `${platform}:${teamId}` : `${platform}:enterprise:${enterpriseId ?? ''}`;
}
