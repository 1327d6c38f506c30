import { describe, expect, it } from 'vitest';
import { parseSlackRequest, signSlackRequest, verifySlackSignature } from '../../src/bots/index.js';
import { eventOf, statusOf } from '../support/ingress.js';

const secret = 'test-signing-secret-8f2a';
const nowMs = Date.UTC(2025, 0, 15, 12, 0, 0);
const nowSec = Math.floor(nowMs / 1000);
const BOT = 'U0BOT0001';

function signed(body: string, ts = String(nowSec)) {
  const rawBody = Buffer.from(body);
  return { signingSecret: secret, rawBody, timestamp: ts, signature: signSlackRequest(secret, ts, rawBody) };
}

function json(body: unknown): { rawBody: Buffer; contentType: string; headers: Record<string, string> } {
  return { rawBody: Buffer.from(JSON.stringify(body)), contentType: 'application/json', headers: {} };
}

const mention = {
  token: 'x',
  team_id: 'T0TEAM',
  api_app_id: 'A0APP',
  type: 'event_callback',
  event_id: 'Ev0MENTION1',
  event_time: nowSec,
  authorizations: [{ enterprise_id: null, team_id: 'T0TEAM', user_id: BOT, is_bot: true }],
  event: {
    type: 'app_mention',
    user: 'U0ALICE',
    text: `<@${BOT}> deploy &lt;main&gt; with <@U0BOB> please`,
    ts: '1736942400.000100',
    channel: 'C0GENERAL',
    event_ts: '1736942400.000100',
  },
};

describe('Slack request signatures', () => {
  it('accepts a correctly signed, fresh request', () => {
    expect(() => verifySlackSignature({ ...signed('{"a":1}'), now: nowMs })).not.toThrow();
  });

  it('refuses a timestamp six minutes old with 401', () => {
    const request = signed('{"a":1}', String(nowSec - 6 * 60));
    expect(statusOf(() => verifySlackSignature({ ...request, now: nowMs }))).toBe(401);
    expect(() => verifySlackSignature({ ...request, now: nowMs })).toThrow(/more than 5 minutes old/);
  });

  it('refuses a timestamp six minutes in the future with 401', () => {
    const request = signed('{"a":1}', String(nowSec + 6 * 60));
    expect(statusOf(() => verifySlackSignature({ ...request, now: nowMs }))).toBe(401);
  });

  it('refuses a signature made with another secret or over another body', () => {
    const request = signed('{"a":1}');
    const otherSecret = signSlackRequest('another-secret', request.timestamp, request.rawBody);
    expect(statusOf(() => verifySlackSignature({ ...request, signature: otherSecret, now: nowMs }))).toBe(
      401,
    );
    expect(
      statusOf(() => verifySlackSignature({ ...request, rawBody: Buffer.from('{"a":2}'), now: nowMs })),
    ).toBe(401);
    expect(statusOf(() => verifySlackSignature({ ...request, signature: 'v0=abc', now: nowMs }))).toBe(401);
  });

  it('refuses missing headers with 401 and a missing secret with 503', () => {
    const request = signed('{}');
    expect(statusOf(() => verifySlackSignature({ ...request, signature: undefined, now: nowMs }))).toBe(401);
    expect(statusOf(() => verifySlackSignature({ ...request, timestamp: undefined, now: nowMs }))).toBe(401);
    expect(statusOf(() => verifySlackSignature({ ...request, signingSecret: '', now: nowMs }))).toBe(503);
  });

  it('refuses a body over the size limit with 413', () => {
    const request = signed('x'.repeat(1_000_001));
    expect(statusOf(() => verifySlackSignature({ ...request, now: nowMs }))).toBe(413);
  });
});

describe('Slack request parsing', () => {
  it('answers the URL verification challenge', () => {
    const outcome = parseSlackRequest(json({ token: 't', challenge: 'ch4ll3nge', type: 'url_verification' }));
    expect(outcome).toEqual({ kind: 'respond', status: 200, body: { challenge: 'ch4ll3nge' } });
  });

  it('turns an app_mention into a normalized event with the mention stripped', () => {
    const event = eventOf(parseSlackRequest(json(mention)));
    expect(event).toMatchObject({
      platform: 'slack',
      workspaceId: 'T0TEAM',
      channelId: 'C0GENERAL',
      threadId: '1736942400.000100',
      userId: 'U0ALICE',
      text: 'deploy <main> with <@U0BOB> please',
      mentions: ['U0BOB'],
      deliveryKey: 'Ev0MENTION1',
      eventType: 'app_mention',
      replyTo: { channel: 'C0GENERAL', threadTs: '1736942400.000100' },
    });
    expect(Number.isNaN(Date.parse(event.receivedAt))).toBe(false);
  });

  it('uses thread_ts as the thread for a mention inside a thread', () => {
    const inThread = { ...mention, event: { ...mention.event, thread_ts: '1736940000.000001' } };
    expect(eventOf(parseSlackRequest(json(inThread))).threadId).toBe('1736940000.000001');
  });

  it('gives a retried delivery (X-Slack-Retry-Num) the same deliveryKey', () => {
    const first = eventOf(parseSlackRequest(json(mention)));
    const retry = eventOf(
      parseSlackRequest({
        ...json(mention),
        headers: { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'x' },
      }),
    );
    expect(retry.deliveryKey).toBe(first.deliveryKey);
  });

  it('accepts direct messages but ignores channel messages, bots, edits and its own messages', () => {
    const dm = {
      ...mention,
      event_id: 'Ev0DM',
      event: {
        type: 'message',
        channel_type: 'im',
        user: 'U0ALICE',
        text: 'status?',
        ts: '1.2',
        channel: 'D0',
      },
    };
    expect(eventOf(parseSlackRequest(json(dm)))).toMatchObject({ text: 'status?', eventType: 'message' });

    const variants: Record<string, unknown>[] = [
      { channel_type: 'channel' },
      { bot_id: 'B0OTHER' },
      { subtype: 'bot_message' },
      { subtype: 'message_changed' },
      { user: BOT },
    ];
    for (const change of variants) {
      const outcome = parseSlackRequest(json({ ...dm, event: { ...dm.event, ...change } }));
      expect(outcome.kind, JSON.stringify(change)).toBe('ignore');
    }
  });

  it("ignores the bot's own message even when the caller names the bot id", () => {
    const own = { ...mention, authorizations: [], event: { ...mention.event, user: 'U0SELF' } };
    const outcome = parseSlackRequest({ ...json(own), botUserId: 'U0SELF' });
    expect(outcome).toMatchObject({ kind: 'ignore', reason: "the bot's own message" });
  });

  it('parses a slash command form body', () => {
    const form = new URLSearchParams({
      token: 'x',
      team_id: 'T0TEAM',
      team_domain: 'acme',
      channel_id: 'C0GENERAL',
      channel_name: 'general',
      user_id: 'U0ALICE',
      user_name: 'alice',
      command: '/deckhand',
      text: 'run tests on main',
      api_app_id: 'A0APP',
      response_url: 'https://hooks.slack.com/commands/T0TEAM/1/abc',
      trigger_id: '123.456.abcdef',
    });
    const event = eventOf(
      parseSlackRequest({
        rawBody: Buffer.from(form.toString()),
        contentType: 'application/x-www-form-urlencoded; charset=utf-8',
        headers: {},
      }),
    );
    expect(event).toMatchObject({
      command: { name: 'deckhand', args: 'run tests on main' },
      text: 'run tests on main',
      deliveryKey: '123.456.abcdef',
      userName: 'alice',
      eventType: 'slash_command',
      replyTo: { responseUrl: 'https://hooks.slack.com/commands/T0TEAM/1/abc', channel: 'C0GENERAL' },
    });
  });

  it('parses a block_actions button press', () => {
    const payload = {
      type: 'block_actions',
      team: { id: 'T0TEAM', domain: 'acme' },
      user: { id: 'U0ALICE', username: 'alice', team_id: 'T0TEAM' },
      channel: { id: 'C0GENERAL', name: 'general' },
      message: { type: 'message', ts: '1.5', thread_ts: '1.1' },
      trigger_id: '999.888.trig',
      response_url: 'https://hooks.slack.com/actions/x',
      actions: [
        { action_id: 'deckhand:cancel', block_id: 'b', value: 'task-42', type: 'button', action_ts: '2.0' },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const event = eventOf(
      parseSlackRequest({
        rawBody: Buffer.from(body),
        contentType: 'application/x-www-form-urlencoded',
        headers: {},
      }),
    );
    expect(event).toMatchObject({
      command: { name: 'deckhand:cancel', args: 'task-42' },
      deliveryKey: '999.888.trig',
      threadId: '1.1',
      eventType: 'block_actions',
    });
  });

  it('refuses malformed JSON and schema mismatches with 400', () => {
    const bad = {
      rawBody: Buffer.from('{"type": "event_callback",'),
      contentType: 'application/json',
      headers: {},
    };
    expect(statusOf(() => parseSlackRequest(bad))).toBe(400);
    expect(statusOf(() => parseSlackRequest(json({ type: 'event_callback', team_id: 'T' })))).toBe(400);
    expect(statusOf(() => parseSlackRequest(json(['not', 'an', 'object'])))).toBe(400);
    expect(statusOf(() => parseSlackRequest({ ...json({}), contentType: 'text/plain' }))).toBe(400);
  });

  it('ignores events it does not handle', () => {
    const reaction = { ...mention, event: { type: 'reaction_added', user: 'U0ALICE' } };
    expect(parseSlackRequest(json(reaction)).kind).toBe('ignore');
    expect(parseSlackRequest(json({ type: 'app_rate_limited', team_id: 'T' })).kind).toBe('ignore');
  });
});
