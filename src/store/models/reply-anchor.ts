/**
 * Where a task's reply lives on a platform that edits one message per task (GitHub's tracking
 * comment), keyed by the event's dedupe key: a retried attempt of the same task edits that comment
 * instead of posting a second one. `_id` is `platform:deliveryKey` (FerretDB pushes only `_id` down).
 * Slack and Discord replies are keyed per post instead: `_id` is `task:<task id>#<part>`, part n being
 * the task's n-th message (src/bots/reply-keys.ts).
 */
import { Schema } from 'mongoose';

export interface ReplyAnchorDoc {
  _id: string;
  /**
   * The platform's id of the message (a GitHub comment id or discussion comment node id, a Slack
   * message ts, a Discord message id).
   */
  ref: string;
  createdAt: Date;
}

/** Long enough for every retry of a task; the anchor is useless after that. */
export const REPLY_ANCHOR_TTL_SECONDS = 14 * 24 * 3600;

export const replyAnchorSchema = new Schema<ReplyAnchorDoc>(
  {
    _id: { type: String, maxlength: 600 },
    // Empty while the claiming attempt posts (claimReplyAnchor); the message's id once it has.
    ref: { type: String, default: '', maxlength: 200 },
    createdAt: { type: Date, default: () => new Date() },
  },
  { strict: 'throw', versionKey: false },
);
replyAnchorSchema.index({ createdAt: 1 }, { expireAfterSeconds: REPLY_ANCHOR_TTL_SECONDS });
