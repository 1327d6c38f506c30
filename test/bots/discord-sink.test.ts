import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  createDiscordSink,
  DISCORD_MAX_CONTENT,
  DISCORD_TRUNCATION_MARKER,
} from '../../src/bots/discord/index.js';
import { DeckhandError, type NormalizedEvent } from '../../src/core/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';

const DISCORD = 'https://discord.com';
const APP = '1100000000000000001';
const INTERACTION_TOKEN = 'aW50ZXJhY3Rpb24tdG9rZW4tc2VjcmV0LXZhbHVl';
const BOT_TOKEN = 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.Gabcde.bot-token-secret';
const WEBHOOK = `/api/v10/webhooks/${APP}/${INTERACTION_TOKEN}`;

function interactionEvent(): NormalizedEvent {
  return {
    platform: 'discord',
    workspaceId: '900000000000000001',
    channelId: '900000000000000002',
    threadId: '',
    userId: '900000000000000003',
    text: 'deploy main',
    mentions: [],
    command: { name: 'deckhand', args: 'deploy main' },
    deliveryKey: '1200000000000000001',
    eventType: 'application_command',
    replyTo: {
      interactionToken: INTERACTION_TOKEN,
      applicationId: APP,
      interactionId: '1200000000000000001',
      channel: '900000000000000002',
    },
    receivedAt: '2025-01-15T12:00:00.000Z',
  };
}

function gatewayEvent(): NormalizedEvent {
  return {
    ...interactionEvent(),
    threadId: '1300000000000000001',
    eventType: 'message_create',
    command: undefined,
    replyTo: { channel: '900000000000000002', messageId: '1300000000000000001' },
  };
}

const noWait = { sleep: async () => {} };

useNockForThirdPartyApis();

describe('Discord reply sink', () => {
  it('Discord first reply edits the deferred response', async () => {
    const scope = nock(DISCORD, { badheaders: ['authorization'] })
      .patch(`${WEBHOOK}/messages/@original`, (body) => body.content === 'Working…')
      .reply(200, { id: '1400000000000000001', content: 'Working…' })
      .post(WEBHOOK, (body) => body.content === 'Second message')
      .reply(200, { id: '1400000000000000002' })
      .patch(`${WEBHOOK}/messages/1400000000000000002`, (body) => body.content === 'Second, edited')
      .reply(200, { id: '1400000000000000002' })
      .patch(`${WEBHOOK}/messages/@original`, (body) => body.content === 'Done')
      .reply(200, { id: '1400000000000000001' });

    const sink = createDiscordSink(interactionEvent(), { retry: noWait });
    await sink.status('working'); // a no-op: the deferred response already says "thinking…"
    const first = await sink.post('Working…');
    expect(first.id).toBe('1400000000000000001');
    const second = await sink.post('Second message');
    expect(second.id).toBe('1400000000000000002');
    await sink.update(second, 'Second, edited');
    await sink.update(first, 'Done');
    expect(scope.isDone()).toBe(true);
  });

  it('splits messages over 2000 characters into follow-ups and never pings anyone', async () => {
    const sent: { content: string; allowed_mentions: unknown }[] = [];
    nock(DISCORD)
      .patch(`${WEBHOOK}/messages/@original`, (body) => sent.push(body) > 0)
      .reply(200, { id: '1' })
      .post(WEBHOOK, (body) => sent.push(body) > 0)
      .times(2)
      .reply(200, { id: '2' });
    await createDiscordSink(interactionEvent(), { retry: noWait }).post(`@everyone ${'x'.repeat(5000)}`);
    expect(sent).toHaveLength(3);
    for (const part of sent) {
      expect(part.content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT);
      expect(part.allowed_mentions).toEqual({ parse: [], replied_user: false });
    }
    // The text is kept, with a zero-width space that keeps @everyone from being a mention.
    expect(sent.map((part) => part.content).join('')).toBe(`@\u200Beveryone ${'x'.repeat(5000)}`);
    expect(DISCORD_TRUNCATION_MARKER).toContain('truncated');
  });

  it('retries a 429 after retry_after and succeeds', async () => {
    // The REST client waits the 429 out itself; the wait shows as the gap between the two requests.
    const at: number[] = [];
    nock(DISCORD)
      .patch(`${WEBHOOK}/messages/@original`)
      .reply(() => {
        at.push(Date.now());
        return [
          429,
          { message: 'You are being rate limited.', retry_after: 0.25, global: false },
          // Far from the body's 250 ms: had the header been used, the gap would show it.
          { 'Retry-After': '30' },
        ];
      })
      .patch(`${WEBHOOK}/messages/@original`)
      .reply(() => {
        at.push(Date.now());
        return [200, { id: '1' }];
      });
    const sink = createDiscordSink(interactionEvent(), { retry: noWait });
    expect(await sink.post('hi')).toEqual({ id: '1' });
    const waited = (at[1] ?? 0) - (at[0] ?? 0);
    // retry_after from the body (250 ms), not the header (30 s).
    expect(waited).toBeGreaterThanOrEqual(240);
    expect(waited).toBeLessThan(15_000);
  });

  it('gives up after 3 server errors without the interaction token in the error', async () => {
    const scope = nock(DISCORD)
      .patch(`${WEBHOOK}/messages/@original`)
      .times(3)
      .reply(502, { message: 'Bad Gateway' });
    const error = (await createDiscordSink(interactionEvent(), { retry: noWait })
      .post('hi')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error).toBeInstanceOf(DeckhandError);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toContain(
      'Discord edit of the deferred response failed: HTTP 502 (Bad Gateway)',
    );
    expect(`${error.message} ${error.stack}`).not.toContain(INTERACTION_TOKEN);
    expect(scope.isDone()).toBe(true);
  });

  it('does not retry an expired interaction token', async () => {
    const scope = nock(DISCORD)
      .patch(`${WEBHOOK}/messages/@original`)
      .once()
      .reply(401, { message: 'Invalid Webhook Token', code: 50027 });
    const error = (await createDiscordSink(interactionEvent(), { retry: noWait })
      .post('hi')
      .catch((e: unknown) => e)) as DeckhandError;
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe(
      'Discord edit of the deferred response failed: HTTP 401 (Invalid Webhook Token, code 50027).',
    );
    expect(scope.isDone()).toBe(true);
  });

  it('answers a gateway mention in the channel with the bot token', async () => {
    const channel = '/api/v10/channels/900000000000000002/messages';
    const scope = nock(DISCORD, { reqheaders: { authorization: `Bot ${BOT_TOKEN}` } })
      .post(channel, {
        content: 'On it',
        allowed_mentions: { parse: [], replied_user: false },
        message_reference: { message_id: '1300000000000000001', fail_if_not_exists: false },
      })
      .reply(200, { id: '1500000000000000001' })
      .patch(`${channel}/1500000000000000001`, (body) => body.content === 'Done')
      .reply(200, { id: '1500000000000000001' })
      .put(`${channel}/1300000000000000001/reactions/${encodeURIComponent('✅')}/@me`)
      .reply(204)
      .delete(`${channel}/1300000000000000001/reactions/${encodeURIComponent('👀')}/@me`)
      .reply(204);

    const sink = createDiscordSink(gatewayEvent(), { botToken: BOT_TOKEN, retry: noWait });
    const reply = await sink.post('On it');
    await sink.update(reply, 'Done');
    await sink.status('done');
    expect(scope.isDone()).toBe(true);
  });

  it('refuses a gateway event without DISCORD_BOT_TOKEN', () => {
    expect(() => createDiscordSink(gatewayEvent(), {})).toThrow(/DISCORD_BOT_TOKEN/);
  });
});
