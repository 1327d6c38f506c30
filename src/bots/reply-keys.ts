/**
 * One reply per task, whatever happens: every message a task posts on a chat platform is keyed by
 * (task id, part), where part n is the task's n-th post, and the posted message's id is recorded in
 * the store (a ReplyAnchor) as soon as the platform returns it. A later attempt of the same task (a
 * retry after a failure, or another worker after this one died) finds the message its part was
 * posted as and edits it instead of posting a second one, so "the model is not answering" from an
 * earlier attempt becomes the answer. GitHub's tracking comment has its own anchor (src/github/sink.ts).
 *
 * What remains: a process that dies after the platform accepted a post and before the anchor is
 * written leaves a message no later attempt knows about, and the retry posts again. The anchor is
 * written right after the post returns, before anything else, so that window is one store write.
 * Closing it would take a claim written before the post that the platform call then completes (a
 * two-phase post), which Slack and Discord give no idempotency key to make safe.
 */
import type { Logger, PostedReply, ReplyOptions, ReplySink } from '../core/index.js';
import { isDeckhandError } from '../core/index.js';
import type { Store } from '../store/index.js';

/** The store calls the keyed sink needs (Store has them; src/store/repo/reply-anchors.ts). */
export type ReplyAnchors = Pick<Store, 'claimReplyAnchor' | 'releaseReplyAnchor' | 'saveReplyAnchor'>;

/**
 * How long a post waits for another attempt of the same task that claimed the part and has not
 * recorded its message yet (two attempts at once: a lease lost while the store was away). Past it,
 * the claimer is taken to have died before posting, and this attempt posts.
 */
const PENDING_WAIT_MS = 15_000;
const PENDING_POLL_MS = 250;

/** The anchor `_id` of part `part` (0 = the task's first post) of task `taskId`. */
export function replyKeyOf(taskId: string, part: number): string {
  return `task:${taskId}#${part}`;
}

export interface KeyedRepliesOptions {
  /** The task the sink answers for: every attempt of it must give the same id. */
  taskId: string;
  anchors: ReplyAnchors;
  logger: Logger;
  /**
   * How long a store call is retried while the store is away (restart, failover) before the post
   * gives up (lookup: the error is thrown, and the attempt fails retryably) or goes on without an
   * anchor (save: logged; a later attempt would post again). Default 30 s, half the default lease.
   */
  storeWaitMs?: number;
  /** Sleep between store retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Wraps a platform sink made for one attempt of one task: `post` edits the message an earlier
 * attempt posted for the same part, or posts and records it. `update` and `status` pass through.
 */
export function keyedReplies(sink: ReplySink, options: KeyedRepliesOptions): ReplySink {
  const { anchors, logger, taskId } = options;
  const storeWaitMs = options.storeWaitMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  let parts = 0;

  /** Runs a store call until it works, a typed (permanent) error comes back, or time is up. */
  async function persistently<T>(run: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + storeWaitMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await run();
      } catch (error) {
        // A DeckhandError from the store is a validation or conflict: trying again changes nothing.
        if (isDeckhandError(error) || Date.now() + wait > deadline) throw error;
        await sleep(wait);
      }
    }
  }

  /** Edits an earlier attempt's message; false when it is gone (deleted, or no longer editable). */
  async function editEarlier(reply: PostedReply, text: string, more: ReplyOptions | undefined) {
    // A sink that tracks what it posted (Discord's first post edits the interaction's deferred
    // response) is told the message is its own (ReplySink.adopt).
    sink.adopt?.(reply);
    try {
      await sink.update(reply, text, more);
      return true;
    } catch (error) {
      // Retryable failures (429, 5xx, network) end the attempt; it edits again on the retry.
      if (!isDeckhandError(error) || error.retryable) throw error;
      logger.warn(
        { err: error, task: taskId, message: reply.id },
        'could not edit the message an earlier attempt posted; posting a new one',
      );
      return false;
    }
  }

  return {
    async post(text: string, more?: ReplyOptions): Promise<PostedReply> {
      // Numbered when called, so concurrent posts keep the order they were made in.
      const key = replyKeyOf(taskId, parts++);
      const waitUntil = Date.now() + PENDING_WAIT_MS;
      for (;;) {
        const claim = await persistently(() => anchors.claimReplyAnchor(key));
        if (claim === 'claimed') break;
        if (claim !== 'pending') {
          const reply = { id: claim.ref };
          if (await editEarlier(reply, text, more)) return reply;
          break; // the earlier message is gone: post anew and record that one
        }
        if (Date.now() > waitUntil) {
          logger.warn(
            { task: taskId, key },
            'another attempt claimed this reply and never recorded it; posting',
          );
          break;
        }
        await sleep(PENDING_POLL_MS);
      }
      let posted: PostedReply;
      try {
        posted = await sink.post(text, more);
      } catch (error) {
        // Not posted: the next attempt may claim the part at once instead of waiting for this one.
        await anchors.releaseReplyAnchor(key).catch(() => undefined);
        throw error;
      }
      // Nothing else happens between the post and this write: a crash in between is the one case
      // that still shows a second message (see the comment at the top of this file).
      await persistently(() => anchors.saveReplyAnchor(key, posted.id)).catch((error: unknown) => {
        // Failing the attempt now would post again on the retry for certain; going on does only if
        // this attempt fails later.
        logger.error(
          { err: error, task: taskId, message: posted.id },
          'could not record the posted reply; a retry of this task would post it again',
        );
      });
      return posted;
    },
    update: (reply, text, more) => sink.update(reply, text, more),
    status: (status) => sink.status(status),
  };
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
