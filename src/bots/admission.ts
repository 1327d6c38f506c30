/**
 * Who an adapter listens to: channel and user allow-lists and whether other bots count. Applied to a
 * parsed event before it reaches the pipeline, so a refused message creates no task and no reply.
 * This is not permissions (roles are decided later, per command); it is the platform-level filter.
 */
import type { NormalizedEvent } from '../core/index.js';

export interface AdmissionPolicy {
  /** Answer messages posted by other bots (the bot's own are always ignored by the parser). */
  allowBots: boolean;
  /** Channel ids; empty: every channel. */
  allowedChannels: string[];
  /** User ids; empty: every user. */
  allowedUsers: string[];
}

export const OPEN_ADMISSION: AdmissionPolicy = { allowBots: false, allowedChannels: [], allowedUsers: [] };

/** Why `event` is not admitted, or undefined when it is. `parentChannelId` admits a thread of an allowed channel. */
export function admissionRefusal(
  event: Pick<NormalizedEvent, 'channelId' | 'userId'>,
  policy: AdmissionPolicy,
  parentChannelId?: string,
): string | undefined {
  const channels = policy.allowedChannels;
  if (
    channels.length > 0 &&
    !channels.includes(event.channelId) &&
    !(parentChannelId && channels.includes(parentChannelId))
  ) {
    return `channel ${event.channelId} is not in the allow-list`;
  }
  if (policy.allowedUsers.length > 0 && !policy.allowedUsers.includes(event.userId)) {
    return `user ${event.userId} is not in the allow-list`;
  }
  return undefined;
}
