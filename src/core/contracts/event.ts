/**
 * The normalized event every adapter's `parse` produces. After parsing, nothing downstream knows
 * which platform a request came from except through these fields.
 */
import { z } from 'zod';

export const platformSchema = z.enum(['slack', 'discord', 'github', 'terminal']);
export type EventPlatform = z.infer<typeof platformSchema>;

export const normalizedEventSchema = z.object({
  platform: platformSchema,
  /** Slack team id, Discord guild id, GitHub installation id ('local' for the terminal). */
  workspaceId: z.string().min(1),
  /** Slack channel, Discord channel, GitHub `owner/repo`. */
  channelId: z.string().min(1),
  /** Thread root: Slack thread_ts (or the message ts), Discord thread/message id, GitHub issue or PR number. */
  threadId: z.string(),
  userId: z.string().min(1),
  userName: z.string().optional(),
  /** The text addressed to Deckhand, with the bot mention stripped. */
  text: z.string(),
  /** Platform user ids mentioned in the text (other than the bot). */
  mentions: z.array(z.string()).default([]),
  /** Set when the platform itself says this is a command (slash command, Discord application command). */
  command: z.object({ name: z.string(), args: z.string() }).optional(),
  /** The platform's delivery id; the pipeline dedupes on (platform, deliveryKey). */
  deliveryKey: z.string().min(1).max(512),
  /** What kind of platform event this was, for logs and routing (`app_mention`, `issue_comment`, ...). */
  eventType: z.string(),
  /** Where to reply: platform-specific addressing the reply sink understands (response_url, interaction token, comment id). */
  replyTo: z.record(z.string(), z.string()).default({}),
  receivedAt: z.string(),
});
export type NormalizedEvent = z.infer<typeof normalizedEventSchema>;

/** What `parse` returns: an event to process, an immediate answer (challenge, PONG), or nothing to do. */
export type ParseOutcome =
  | { kind: 'event'; event: NormalizedEvent }
  | { kind: 'respond'; status: number; body: unknown }
  | { kind: 'ignore'; reason: string };
