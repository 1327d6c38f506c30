/**
 * Reply anchors (models/reply-anchor.ts): the message a task's replies edit, remembered across the
 * task's attempts. Written once per message (an upsert on `_id`), read once per attempt and message.
 */

import { guard, isDuplicateKeyError, toStoreError } from '../errors.js';
import type { Models } from '../models/index.js';

export function replyAnchorRepo(models: Pick<Models, 'ReplyAnchor'>) {
  const { ReplyAnchor } = models;
  return {
    /**
     * The message an earlier attempt posted for `key` (`platform:deliveryKey` for GitHub's tracking
     * comment, `task:<id>#<part>` for a Slack or Discord message), if any.
     */
    async replyAnchorOf(key: string): Promise<string | undefined> {
      const doc = await ReplyAnchor.findById(key).lean<{ ref: string }>();
      return doc?.ref || undefined;
    },

    /**
     * Claims `key` before posting, by unique insert (FerretDB-safe): `claimed` (this caller posts),
     * the message an earlier attempt posted (`{ ref }`: edit it), or `pending` (another attempt of
     * the same task claimed it and has not recorded its message yet).
     */
    /** Gives up a claim whose post failed (only while no message is recorded for it). */
    async releaseReplyAnchor(key: string): Promise<void> {
      await guard('ReplyAnchor', () => ReplyAnchor.deleteOne({ _id: key, ref: '' }));
    },

    async claimReplyAnchor(key: string): Promise<'claimed' | 'pending' | { ref: string }> {
      try {
        await ReplyAnchor.create({ _id: key, ref: '', createdAt: new Date() });
        return 'claimed';
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw toStoreError(error, 'ReplyAnchor');
      }
      const doc = await guard('ReplyAnchor', () => ReplyAnchor.findById(key).lean<{ ref: string }>());
      return doc?.ref ? { ref: doc.ref } : 'pending';
    },

    async saveReplyAnchor(key: string, ref: string): Promise<void> {
      await guard('ReplyAnchor', () =>
        ReplyAnchor.updateOne(
          { _id: key },
          { $set: { ref }, $setOnInsert: { createdAt: new Date() } },
          { upsert: true },
        ),
      );
    },
  };
}
