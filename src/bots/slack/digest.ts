/**
 * Digests into Slack channels: chat.postMessage with the composed blocks (link previews off), through
 * WebClient with the token of the channel's workspace, so a workspace that installed Deckhand through
 * /slack/install gets its digests too, not only SLACK_BOT_TOKEN's. WebClient retries 429s (after
 * Retry-After), 5xx and network failures inside one attempt; what still fails throws, and the digest
 * runner tries the run again later. Slack has no idempotency key: the run log keeps that window small.
 */
import { z } from 'zod';
import {
  type ChannelTarget,
  type ComposedDigest,
  DeckhandError,
  type DigestChannel,
  isDeckhandError,
} from '../../core/index.js';
import { callSlack, type SlackClients } from './api.js';
import type { SlackTokenSource } from './authorize.js';

export interface SlackDigestOptions {
  /** The workspace's bot token: its installation, else SLACK_BOT_TOKEN. */
  tokens: SlackTokenSource;
  clients: SlackClients;
}

const postedSchema = z.object({ ts: z.string().min(1) }).passthrough();

export function createSlackDigestChannel(options: SlackDigestOptions): DigestChannel {
  const { tokens, clients } = options;

  async function tokenFor(target: ChannelTarget): Promise<string> {
    try {
      return await tokens.botTokenFor({ teamId: target.workspaceId });
    } catch (error) {
      if (!isDeckhandError(error, 'CONFIG_MISSING')) throw error;
      throw new DeckhandError(
        'NOT_CONFIGURED',
        `Slack digests for workspace ${target.workspaceId} need a bot token: set SLACK_BOT_TOKEN, or install Deckhand in that workspace through /slack/install.`,
        { cause: error },
      );
    }
  }

  async function send(
    target: ChannelTarget,
    message: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<string> {
    // The runner keeps each request inside its lease.
    const client = clients.forToken(await tokenFor(target), { timeoutMs });
    const answer = await callSlack(
      client,
      'chat.postMessage',
      { channel: target.channelId, unfurl_links: false, unfurl_media: false, ...message },
      { retry: clients.retry },
    );
    return postedSchema.safeParse(answer).data?.ts ?? '';
  }

  return {
    async post(target: ChannelTarget, digest: ComposedDigest, _key: string, limits = {}) {
      const { text, blocks } = digest.slack;
      return { messageId: await send(target, { text, blocks }, limits.timeoutMs) };
    },
    async notice(target: ChannelTarget, text: string) {
      await send(target, { text });
    },
  };
}
