import { Schema, type Types } from 'mongoose';

/**
 * The last messages of one conversation, keyed by its id, so an agent turn loads its memory with a
 * primary-key read instead of a scan of every message (FerretDB pushes down only `_id`).
 *
 * An index, never the truth: the messages collection is. Each message carries `seq`, its number in
 * the conversation, decided by inserting it under an _id derived from (conversation, seq). So a
 * window that missed a message (two appends racing on this read-then-write document) shows a gap,
 * or ends short of the next seq, and the reader fetches what is missing by _id and repairs it.
 */
export interface ThreadWindowDoc {
  /** The conversation's id. */
  _id: Types.ObjectId;
  /** The highest message seq the window knows of. */
  seq: number;
  /** Stored messages (lean, with _id), oldest first: messages without seq (older code) before numbered ones. */
  messages: Record<string, unknown>[];
  /** True when older messages exist that the window no longer holds. */
  olderBeyond: boolean;
}

export const threadWindowSchema = new Schema<ThreadWindowDoc>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true, min: 0 },
    messages: { type: Schema.Types.Mixed, default: () => [] },
    olderBeyond: { type: Boolean, default: false },
  },
  { strict: 'throw', versionKey: false, minimize: false, collection: 'threadwindows' },
);
