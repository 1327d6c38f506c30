/**
 * Discord's 429 against a loopback stand-in (DISCORD_API_URL-style base): the REST client waits out
 * the `retry_after` Discord names, then the message goes through once, for a reply and a digest.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordSink } from '../../../src/bots/index.js';
import type { NormalizedEvent } from '../../../src/core/index.js';
import type { ComposedDigest } from '../../../src/scheduler/index.js';
import { chatDigestPoster } from '../../support/digest-poster.js';
import { type ApiCall, type FakeApi, startFakeApi } from '../../support/platforms/index.js';

const BOT_TOKEN = 'discord-bot-token-rate-limit-test';
const CHANNEL = '1000000000000000000';
const RETRY_AFTER_S = 0.4;

const gatewayEvent: NormalizedEvent = {
  platform: 'discord',
  workspaceId: '1100000000000000000',
  channelId: CHANNEL,
  threadId: '1300000000000000001',
  userId: '900000000000000000',
  text: 'status',
  mentions: [],
  deliveryKey: '1300000000000000001',
  eventType: 'mention',
  replyTo: { channel: CHANNEL, messageId: '1300000000000000001' },
  receivedAt: '2025-01-15T12:00:00.000Z',
};

let api: FakeApi;
/** When each call arrived, and how many messages the stand-in accepted. */
let arrivals: number[];
let accepted: ApiCall[];

beforeAll(async () => {
  api = await startFakeApi(() => ({ status: 404 }));
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  arrivals = [];
  accepted = [];
  api.calls.length = 0;
  // The first post is rate limited (body only, as some proxies send it); the next is accepted.
  api.reply = (call) => {
    arrivals.push(Date.now());
    if (arrivals.length === 1) {
      return {
        status: 429,
        body: { message: 'You are being rate limited.', retry_after: RETRY_AFTER_S, global: false },
      };
    }
    accepted.push(call);
    return { status: 200, body: { id: `15000000000000000${accepted.length}` } };
  };
});

function waited(): number {
  return (arrivals[1] ?? 0) - (arrivals[0] ?? 0);
}

describe('a Discord 429 with retry_after', () => {
  it('is waited out by the reply sink, and the message is posted once', async () => {
    const sink = createDiscordSink(gatewayEvent, { botToken: BOT_TOKEN, apiUrl: `${api.url}/api/v10` });
    expect(await sink.post('On it')).toEqual({ id: '150000000000000001' });
    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `POST /api/v10/channels/${CHANNEL}/messages`,
      `POST /api/v10/channels/${CHANNEL}/messages`,
    ]);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.headers.authorization).toBe(`Bot ${BOT_TOKEN}`);
    expect(accepted[0]?.body).toMatchObject({ content: 'On it' });
    expect(waited()).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 10);
  });

  it('is waited out by the digest poster, and the digest is posted once with its nonce', async () => {
    const poster = chatDigestPoster({ discordBotToken: BOT_TOKEN, discordApiUrl: `${api.url}/discord` });
    const digest: ComposedDigest = {
      title: 'Weekly',
      text: 'digest',
      slack: { text: 'digest', blocks: [] },
      discord: { embeds: [{ title: 'Weekly' }] },
    };
    const target = { platform: 'discord' as const, workspaceId: 'w', channelId: CHANNEL };
    expect(await poster.post(target, digest, 'schedule-1@2027-07-05T09:00:00Z')).toEqual({
      messageId: '150000000000000001',
    });
    expect(api.calls.map((call) => call.path)).toEqual([
      `/discord/channels/${CHANNEL}/messages`,
      `/discord/channels/${CHANNEL}/messages`,
    ]);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.body).toMatchObject({
      embeds: [{ title: 'Weekly' }],
      enforce_nonce: true,
      nonce: expect.any(String),
      allowed_mentions: { parse: [] },
    });
    expect(waited()).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 10);
  });
});
