/** What Slack messages become events, under the configured policy. */
import { describe, expect, it } from 'vitest';
import type { AdmissionPolicy } from '../../../src/bots/index.js';
import { parseSlackRequest, SLACK_THREAD_REPLY } from '../../../src/bots/slack/index.js';
import { eventOf } from '../../support/ingress.js';

const BOT = 'U0BOT';
const APP = 'A0APP';

function request(event: Record<string, unknown>, policy?: AdmissionPolicy) {
  const body = {
    type: 'event_callback',
    team_id: 'T0TEAM',
    api_app_id: APP,
    event_id: 'Ev1',
    authorizations: [{ user_id: BOT, team_id: 'T0TEAM', is_bot: true }],
    event,
  };
  return parseSlackRequest({
    rawBody: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    headers: {},
    ...(policy ? { policy } : {}),
  });
}

const open: AdmissionPolicy = { allowBots: false, allowedChannels: [], allowedUsers: [] };
const mention = {
  type: 'app_mention',
  user: 'U0ALICE',
  text: `<@${BOT}> status`,
  ts: '1700000050.000200',
  thread_ts: '1700000000.000100',
  channel: 'C0OPS',
};

describe('Slack parsing', () => {
  it('replies to the thread root but reacts on the mention itself', () => {
    const event = eventOf(request(mention));
    expect(event.threadId).toBe('1700000000.000100');
    expect(event.replyTo).toMatchObject({
      channel: 'C0OPS',
      threadTs: '1700000000.000100',
      messageTs: '1700000050.000200',
    });
  });

  it('marks a plain reply in a thread as a thread reply, and ignores the copy of a mention', () => {
    const reply = { ...mention, type: 'message', channel_type: 'channel', text: 'and then?' };
    expect(eventOf(request(reply))).toMatchObject({ eventType: SLACK_THREAD_REPLY, text: 'and then?' });
    // Slack sends a mention in a thread twice (app_mention and message): only the app_mention counts.
    expect(request({ ...reply, text: `<@${BOT}> and then?` })).toMatchObject({ kind: 'ignore' });
    // A top-level channel message without a mention is not for us.
    const { thread_ts: _root, ...topLevel } = reply;
    expect(request(topLevel)).toMatchObject({ kind: 'ignore' });
  });

  it("answers other bots only when allowed, and never its own app's messages", () => {
    const otherBot = {
      ...mention,
      user: undefined,
      bot_id: 'B0OTHER',
      subtype: 'bot_message',
      app_id: 'A0OTHER',
    };
    expect(request(otherBot, open)).toMatchObject({ kind: 'ignore', reason: 'message from a bot' });
    expect(eventOf(request(otherBot, { ...open, allowBots: true }))).toMatchObject({ userId: 'B0OTHER' });
    const ownPost = { ...otherBot, app_id: APP, bot_id: 'B0SELF' };
    expect(request(ownPost, { ...open, allowBots: true })).toMatchObject({
      kind: 'ignore',
      reason: "the bot's own message",
    });
  });

  it('keeps to the channel and user allow-lists', () => {
    expect(request(mention, { ...open, allowedChannels: ['C0OTHER'] })).toMatchObject({ kind: 'ignore' });
    expect(request(mention, { ...open, allowedUsers: ['U0BOB'] })).toMatchObject({ kind: 'ignore' });
    expect(
      eventOf(request(mention, { ...open, allowedChannels: ['C0OPS'], allowedUsers: ['U0ALICE'] })).text,
    ).toBe('status');
  });

  it('tells a refused slash command why, ephemerally', () => {
    const form = new URLSearchParams({
      command: '/deckhand',
      text: 'help',
      response_url: 'https://hooks.slack.com/commands/1',
      trigger_id: 't1',
      user_id: 'U0ALICE',
      team_id: 'T0TEAM',
      channel_id: 'C0OPS',
    });
    const outcome = parseSlackRequest({
      rawBody: Buffer.from(form.toString()),
      contentType: 'application/x-www-form-urlencoded',
      headers: {},
      policy: { ...open, allowedChannels: ['C0ELSEWHERE'] },
    });
    expect(outcome).toEqual({
      kind: 'respond',
      status: 200,
      body: { response_type: 'ephemeral', text: 'Deckhand does not answer here.' },
    });
  });
});
