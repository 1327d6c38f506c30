import { Schema, type Types } from 'mongoose';

export const MESSAGE_ROLES = ['user', 'assistant', 'tool', 'system'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export interface ToolCallRecord {
  id: string;
  name: string;
  arguments: unknown;
}
export interface ToolResultRecord {
  callId: string;
  output: string;
  isError: boolean;
}

export interface MessageDoc {
  conversationId: Types.ObjectId;
  role: MessageRole;
  text: string;
  authorId?: string;
  toolCalls: ToolCallRecord[];
  toolResults: ToolResultRecord[];
  model?: string;
  /** The task and workspace (`platform:workspaceId`) a model call was made for, for usage and budgets. */
  taskId?: string;
  workspaceKey?: string;
  /** On a summary (role system): the id of the last message it replaces in the agent's memory. */
  summaryThrough?: string;
  /**
   * The message's number in its conversation (1, 2, ...), decided by inserting it under an _id
   * derived from (conversation, seq): see thread-window.ts. Absent on messages from before.
   */
  seq?: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  createdAt: Date;
  updatedAt: Date;
}

export const messageSchema = new Schema<MessageDoc>(
  {
    conversationId: { type: Schema.Types.ObjectId, required: true },
    role: { type: String, enum: MESSAGE_ROLES, required: true },
    text: { type: String, default: '', maxlength: 200_000 },
    authorId: { type: String },
    toolCalls: {
      type: [
        {
          _id: false,
          id: { type: String, required: true },
          name: { type: String, required: true },
          arguments: Schema.Types.Mixed,
        },
      ],
      default: [],
    },
    toolResults: {
      type: [
        {
          _id: false,
          callId: { type: String, required: true },
          output: { type: String, default: '' },
          isError: { type: Boolean, default: false },
        },
      ],
      default: [],
    },
    model: { type: String },
    taskId: { type: String },
    workspaceKey: { type: String },
    summaryThrough: { type: String },
    seq: { type: Number, min: 1 },
    tokensIn: { type: Number, default: 0, min: 0 },
    tokensOut: { type: Number, default: 0, min: 0 },
    costUsd: { type: Number, default: 0, min: 0 },
  },
  { timestamps: true, strict: 'throw' },
);
messageSchema.index({ conversationId: 1, createdAt: 1 });
