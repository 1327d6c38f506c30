/**
 * Reply anchors (models/reply-anchor.ts): the message a task's replies edit, remembered across the
 * task's attempts. Written once per message (an upsert on `_id`), read once per attempt and message.
 */

import { guard } from '../errors.js';
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
      return doc?.ref;
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
