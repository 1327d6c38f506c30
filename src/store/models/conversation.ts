import { Schema } from 'mongoose';
import { PLATFORMS, type Platform } from './platform.js';

/** One thread on one platform: the unit of memory for the agent. */
export interface ConversationDoc {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  /** The thread root (Slack thread_ts, Discord thread id, GitHub issue number); '' for a DM without threads. */
  threadId: string;
  title?: string;
  /** When the latest message was stored, to within a minute (see repo/thread-window.ts). */
  lastMessageAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export const conversationSchema = new Schema<ConversationDoc>(
  {
    platform: { type: String, enum: PLATFORMS, required: true },
    workspaceId: { type: String, required: true },
    channelId: { type: String, required: true },
    threadId: { type: String, default: '' },
    title: { type: String },
    lastMessageAt: { type: Date },
  },
  { timestamps: true, strict: 'throw' },
);
conversationSchema.index({ platform: 1, workspaceId: 1, channelId: 1, threadId: 1 }, { unique: true });
