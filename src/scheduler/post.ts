/**
 * Posts a composed digest into its channel through the channel's platform adapter (Slack blocks,
 * a Discord embed, the terminal's log), handed in by the composition root. Transient failures are
 * retried inside one attempt by each platform's client; what still fails fails the attempt, and the
 * runner retries it later and finally reports it in the channel.
 */
import { type ChannelTarget, DeckhandError, type DigestChannel, type EventPlatform } from '../core/index.js';

/** Where a digest goes (a platform, workspace and channel). */
export type DigestTarget = ChannelTarget;

/** Posts a digest, or the short failure notice, to any target whose platform has a channel. */
export type DigestPoster = DigestChannel;

/** The adapters' digest channels, by platform (see digestChannelsOf in src/bots). */
export type DigestChannels = Partial<Record<EventPlatform, DigestChannel>>;

export function createDigestPoster(channels: DigestChannels): DigestPoster {
  function channelFor(target: DigestTarget): DigestChannel {
    const channel = channels[target.platform];
    if (!channel) {
      const served = Object.keys(channels).join(', ') || 'no platform';
      throw new DeckhandError(
        'BAD_REQUEST',
        `Digests can be posted to ${served} channels, not to ${target.platform}.`,
      );
    }
    return channel;
  }
  return {
    post: (target, digest, key, limits) => channelFor(target).post(target, digest, key, limits),
    notice: (target, text) => channelFor(target).notice(target, text),
  };
}
