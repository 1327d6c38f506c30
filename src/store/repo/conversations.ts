import type { Types } from 'mongoose';
import { guard } from '../errors.js';
import type { ConversationDoc, MessageDoc, Models, Platform } from '../models/index.js';

export type ConversationRecord = ConversationDoc & { id: string };
export type MessageRecord = Omit<MessageDoc, 'conversationId'> & { id: string; conversationId: string };

export interface ConversationKey {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  threadId?: string;
}

export type NewMessage = Partial<Omit<MessageDoc, 'conversationId' | 'createdAt' | 'updatedAt'>> &
  Pick<MessageDoc, 'role'>;

export function conversationRepo(models: Models) {
  const { Conversation, Message } = models;
  return {
    /** The conversation for a thread, created on first use. Safe under concurrent first messages. */
    async upsertConversation(key: ConversationKey, title?: string): Promise<ConversationRecord> {
      const filter = { ...key, threadId: key.threadId ?? '' };
      const doc = await guard('Conversation', () =>
        Conversation.findOneAndUpdate(
          filter,
          { $setOnInsert: { ...filter, ...(title ? { title } : {}) } },
          { upsert: true, returnDocument: 'after' },
        ).lean<ConversationDoc & { _id: Types.ObjectId }>(),
      ).catch(async (error: unknown) => {
        // Two first messages racing on the unique index: the loser reads the winner's document.
        const existing = await Conversation.findOne(filter).lean<ConversationDoc & { _id: Types.ObjectId }>();
        if (existing) return existing;
        throw error;
      });
      if (!doc) throw new Error('upsert returned no conversation');
      const { _id, ...rest } = doc;
      return { ...rest, id: String(_id) };
    },

    async appendMessage(conversationId: string, message: NewMessage): Promise<MessageRecord> {
      const doc = await guard('Message', () => Message.create({ ...message, conversationId }));
      await Conversation.updateOne({ _id: conversationId }, { $set: { lastMessageAt: new Date() } });
      const { _id, conversationId: cid, ...rest } = doc.toObject();
      return { ...rest, id: String(_id), conversationId: String(cid) };
    },

    /** The last `limit` messages of a conversation, oldest first. */
    async recentMessages(conversationId: string, limit = 50): Promise<MessageRecord[]> {
      const docs = await Message.find({ conversationId })
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit)
        .lean<(MessageDoc & { _id: Types.ObjectId })[]>();
      return docs.reverse().map(({ _id, conversationId: cid, ...rest }) => ({
        ...rest,
        id: String(_id),
        conversationId: String(cid),
      }));
    },
  };
}
