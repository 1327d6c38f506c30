import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { DeckhandError } from '../../core/index.js';
import { guard } from '../errors.js';
import type { ConversationDoc, MessageDoc, Models, Platform } from '../models/index.js';
import { type StoredMessage, threadWindows } from './thread-window.js';

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

export interface UsageTotals {
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  modelCalls: number;
}

function toMessageRecord({ _id, conversationId, ...rest }: StoredMessage): MessageRecord {
  return { ...rest, id: String(_id), conversationId: String(conversationId) };
}

function conversationObjectId(id: string): Types.ObjectId {
  if (!Types.ObjectId.isValid(id)) throw new DeckhandError('NOT_FOUND', `No conversation with id ${id}.`);
  return new Types.ObjectId(id);
}

function conversationIdFor(key: Required<ConversationKey>): Types.ObjectId {
  const hex = createHash('sha256')
    .update(`${key.platform}\u0000${key.workspaceId}\u0000${key.channelId}\u0000${key.threadId}`)
    .digest('hex');
  return new Types.ObjectId(hex.slice(0, 24));
}

function toConversationRecord({
  _id,
  ...rest
}: ConversationDoc & { _id: Types.ObjectId }): ConversationRecord {
  return { ...rest, id: String(_id) };
}

export function conversationRepo(models: Models) {
  const { Conversation, Message } = models;
  const windows = threadWindows(models);
  return {
    /**
     * The conversation for a thread, created on first use. Safe under concurrent first messages.
     * Its _id derives from the thread, so finding it is a primary-key read: FerretDB pushes down
     * only _id, and a filter on the thread scanned every conversation on every message.
     */
    async upsertConversation(key: ConversationKey, title?: string): Promise<ConversationRecord> {
      const filter = { ...key, threadId: key.threadId ?? '' };
      const _id = conversationIdFor(filter);
      type Lean = ConversationDoc & { _id: Types.ObjectId };
      const found = await guard('Conversation', () => Conversation.findById(_id).lean<Lean>());
      if (found) return toConversationRecord(found);
      try {
        const created = await guard('Conversation', () =>
          Conversation.create({ _id, ...filter, ...(title ? { title } : {}) }),
        );
        return toConversationRecord(created.toObject() as Lean);
      } catch (error) {
        // Two first messages racing (same _id), or a conversation stored before ids were derived
        // (the unique index on the thread): either way the thread's conversation exists.
        const existing =
          (await Conversation.findById(_id).lean<Lean>()) ??
          (await Conversation.findOne(filter).lean<Lean>());
        if (existing) return toConversationRecord(existing);
        throw error;
      }
    },

    /** Resolves once the thread windows' updates started so far are written (tests, shutdown). */
    settleThreadWindows(): Promise<void> {
      return windows.settle();
    },

    /** Stores the message, numbered in its conversation; the thread's window follows shortly after. */
    async appendMessage(conversationId: string, message: NewMessage): Promise<MessageRecord> {
      const cid = conversationObjectId(conversationId);
      return toMessageRecord(await windows.append(cid, message));
    },

    /** Tokens and money of model calls, by workspace and/or task, since a time (a scan: FerretDB pushes down only _id). */
    async usageSummary(filter: {
      workspaceKey?: string;
      taskId?: string;
      since?: Date;
    }): Promise<UsageTotals> {
      const query: Record<string, unknown> = {};
      if (filter.workspaceKey) query.workspaceKey = filter.workspaceKey;
      if (filter.taskId) query.taskId = filter.taskId;
      if (filter.since) query.createdAt = { $gte: filter.since };
      const docs = await Message.find(query, { tokensIn: 1, tokensOut: 1, costUsd: 1, model: 1 }).lean<
        Pick<MessageDoc, 'tokensIn' | 'tokensOut' | 'costUsd' | 'model'>[]
      >();
      const totals: UsageTotals = { tokensIn: 0, tokensOut: 0, costUsd: 0, modelCalls: 0 };
      for (const doc of docs) {
        totals.tokensIn += doc.tokensIn ?? 0;
        totals.tokensOut += doc.tokensOut ?? 0;
        totals.costUsd += doc.costUsd ?? 0;
        if (doc.model) totals.modelCalls += 1;
      }
      return totals;
    },

    /**
     * The last `limit` messages of a conversation, oldest first: from the thread's window by _id
     * reads; a scan only when the window cannot answer (a limit beyond it, messages from before it).
     */
    async recentMessages(conversationId: string, limit = 50): Promise<MessageRecord[]> {
      const cid = conversationObjectId(conversationId);
      const windowed = await windows.recent(cid, limit);
      if (windowed) return windowed.map(toMessageRecord);
      const docs = await Message.find({ conversationId: cid })
        .sort({ createdAt: -1, seq: -1, _id: -1 })
        .limit(limit)
        .lean<StoredMessage[]>();
      return docs.reverse().map(toMessageRecord);
    },
  };
}
