/**
 * The reply sink of last resort: a platform whose credentials are missing logs each reply at warn
 * level, naming the setting to add, so nothing an adapter was asked to say vanishes silently.
 */
import type { Logger } from '../logger.js';
import type { NormalizedEvent } from './event.js';
import type { PostedReply, ReplySink, ReplyStatus } from './reply.js';

/** Logs what would have been shown; `reason` says why (e.g. which variable to set). */
export function loggingSink(logger: Logger, event: NormalizedEvent, reason: string): ReplySink {
  const where = { platform: event.platform, channel: event.channelId, thread: event.threadId };
  const message = `${reason}: reply logged instead of sent to ${event.platform}`;
  let count = 0;
  return {
    async post(text: string): Promise<PostedReply> {
      logger.warn({ ...where, text }, message);
      return { id: `logged:${count++}` };
    },
    async update(reply: PostedReply, text: string): Promise<void> {
      logger.warn({ ...where, reply: reply.id, text }, message);
    },
    async status(status: ReplyStatus): Promise<void> {
      logger.debug({ ...where, status }, message);
    },
  };
}

/** `X is not set` / `X and Y are not set` for the names whose value is missing, else undefined. */
export function missingSettings(
  values: Record<string, string | undefined>,
  names: readonly string[],
): string | undefined {
  const missing = names.filter((name) => !values[name]);
  if (!missing.length) return undefined;
  return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`;
}
