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
    tokensIn: { type: Number, default: 0, min: 0 },
    tokensOut: { type: Number, default: 0, min: 0 },
    costUsd: { type: Number, default: 0, min: 0 },
  },
  { timestamps: true, strict: 'throw' },
);
messageSchema.index({ conversationId: 1, createdAt: 1 });
