/** Gateway MESSAGE_CREATE payloads (raw JSON) -> events, without a gateway. */
import { describe, expect, it } from 'vitest';
import { DISCORD_THREAD_REPLY, parseDiscordMessage } from '../../../src/bots/discord/index.js';
import { eventOf, statusOf } from '../../support/ingress.js';

const BOT = '1200000000000000000';
const base = {
  id: '1300000000000000001',
  channel_id: '1000000000000000000',
  guild_id: '1100000000000000000',
  type: 0,
  content: `<@${BOT}> run python\n\`\`\`python\nprint(1)\n\`\`\``,
  author: { id: '900000000000000000', username: 'alice', global_name: 'Alice' },
  mentions: [{ id: BOT, username: 'deckhand', bot: true }],
  mention_roles: [],
  attachments: [],
  embeds: [],
  timestamp: '2025-01-15T12:00:00.000000+00:00',
};
const open = { allowBots: false, allowedChannels: [], allowedUsers: [] };

describe('Discord gateway messages', () => {
  it('turns a mention into an event keyed by the message id, the mention stripped', () => {
    const event = eventOf(parseDiscordMessage(base, { botUserId: BOT }));
    expect(event).toMatchObject({
      platform: 'discord',
      workspaceId: '1100000000000000000',
      channelId: '1000000000000000000',
      threadId: '1300000000000000001',
      userId: '900000000000000000',
      userName: 'Alice',
      text: 'run python\n```python\nprint(1)\n```',
      deliveryKey: '1300000000000000001',
      eventType: 'mention',
      replyTo: { channel: '1000000000000000000', messageId: '1300000000000000001' },
    });
    expect(event.replyTo.interactionToken).toBeUndefined();
  });

  it('takes direct messages without a mention; the DM channel is the conversation', () => {
    const dm = { ...base, guild_id: undefined, content: 'status', mentions: [] };
    expect(eventOf(parseDiscordMessage(dm, { botUserId: BOT }))).toMatchObject({
      workspaceId: 'dm',
      threadId: '1000000000000000000',
      eventType: 'direct_message',
      text: 'status',
    });
  });

  it('takes a reply to one of its messages as addressed to it', () => {
    const reply = {
      ...base,
      type: 19,
      content: 'and in node?',
      mentions: [],
      referenced_message: { id: '1300000000000000000', author: { id: BOT, username: 'deckhand', bot: true } },
    };
    expect(eventOf(parseDiscordMessage(reply, { botUserId: BOT })).text).toBe('and in node?');
  });

  it('keeps plain thread messages as thread replies (the ingress checks the thread), ignores plain channel chatter', () => {
    const chatter = { ...base, content: 'lunch?', mentions: [] };
    expect(parseDiscordMessage(chatter, { botUserId: BOT })).toMatchObject({ kind: 'ignore' });
    expect(eventOf(parseDiscordMessage(chatter, { botUserId: BOT, inThread: true }))).toMatchObject({
      eventType: DISCORD_THREAD_REPLY,
      threadId: '1000000000000000000',
    });
  });

  it('ignores its own messages always, other bots and webhooks unless allowed', () => {
    const own = { ...base, author: { id: BOT, username: 'deckhand', bot: true } };
    expect(parseDiscordMessage(own, { botUserId: BOT, policy: { ...open, allowBots: true } })).toMatchObject({
      kind: 'ignore',
      reason: "the bot's own message",
    });
    const other = { ...base, author: { id: '5', username: 'ci', bot: true } };
    expect(parseDiscordMessage(other, { botUserId: BOT })).toMatchObject({ kind: 'ignore' });
    expect(parseDiscordMessage(other, { botUserId: BOT, policy: { ...open, allowBots: true } }).kind).toBe(
      'event',
    );
    const hook = { ...base, webhook_id: '77' };
    expect(parseDiscordMessage(hook, { botUserId: BOT })).toMatchObject({ kind: 'ignore' });
  });

  it('keeps to the allow-lists; a thread of an allowed channel is allowed', () => {
    const policy = { ...open, allowedChannels: ['2000000000000000000'] };
    expect(parseDiscordMessage(base, { botUserId: BOT, policy })).toMatchObject({ kind: 'ignore' });
    expect(
      parseDiscordMessage(base, {
        botUserId: BOT,
        policy,
        inThread: true,
        parentChannelId: '2000000000000000000',
      }).kind,
    ).toBe('event');
    expect(
      parseDiscordMessage(base, { botUserId: BOT, policy: { ...open, allowedUsers: ['1'] } }),
    ).toMatchObject({ kind: 'ignore' });
  });

  it('ignores system messages and empty content, and refuses a malformed payload with 400', () => {
    expect(parseDiscordMessage({ ...base, type: 7 }, { botUserId: BOT })).toMatchObject({ kind: 'ignore' });
    expect(parseDiscordMessage({ ...base, content: `<@${BOT}>` }, { botUserId: BOT })).toMatchObject({
      kind: 'ignore',
      reason: expect.stringMatching(/Message Content intent/),
    });
    expect(statusOf(() => parseDiscordMessage({ id: '1' }, { botUserId: BOT }))).toBe(400);
  });
});
