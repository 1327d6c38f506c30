import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/**
 * A thread Deckhand takes part in (it was mentioned there), so a plain reply in it continues the
 * conversation. `_id` is `platform:workspace:channel:thread`: the check runs for every thread reply
 * in every channel the bot is in, and FerretDB's SQLite handler only pushes `_id` filters down.
 */
export interface BotThreadDoc {
  _id: string;
  platform: Platform;
  createdAt: Date;
}

export const botThreadSchema = new Schema<BotThreadDoc>(
  {
    _id: { type: String },
    platform: { type: String, enum: PLATFORMS, required: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
botThreadSchema.index({ createdAt: 1 });

export function botThreadId(key: {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId: string;
}) {
  return [key.platform, key.workspaceId, key.channelId, key.threadId].join(':');
}
