/** What the Discord sink sends to discord.com/api: splits, buttons, edits in order, rate limits. */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createDiscordSink } from '../../../src/bots/discord/index.js';
import type { NormalizedEvent } from '../../../src/core/index.js';
import { useNockForThirdPartyApis } from '../../support/nock.js';

const DISCORD = 'https://discord.com';
const BOT_TOKEN = 'discord-bot-token-sink-test';
const CHANNEL = '/api/v10/channels/1000000000000000000/messages';

const gatewayEvent: NormalizedEvent = {
  platform: 'discord',
  workspaceId: '1100000000000000000',
  channelId: '1000000000000000000',
  threadId: '1300000000000000001',
  userId: '900000000000000000',
  text: 'run python',
  mentions: [],
  deliveryKey: '1300000000000000001',
  eventType: 'mention',
  replyTo: { channel: '1000000000000000000', messageId: '1300000000000000001' },
  receivedAt: '2025-01-15T12:00:00.000Z',
};

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

function recordDiscord(calls: Call[]) {
  let id = 0;
  const record = (method: string) =>
    function (this: unknown, path: string, body: nock.Body): nock.ReplyFnResult {
      calls.push({ method, path, body: typeof body === 'object' ? (body as Record<string, unknown>) : {} });
      return method === 'POST' ? [200, { id: `150000000000000000${++id}` }] : [200, {}];
    };
  const scope = nock(DISCORD, { reqheaders: { authorization: `Bot ${BOT_TOKEN}` } }).persist();
  scope.post(/.*/).reply(record('POST'));
  scope.patch(/.*/).reply(record('PATCH'));
  scope.delete(/.*/).reply(record('DELETE'));
  scope.put(/.*/).reply(record('PUT'));
}

function clock() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

function sink(time = clock()) {
  return createDiscordSink(gatewayEvent, {
    botToken: BOT_TOKEN,
    retry: { sleep: time.sleep },
    now: time.now,
  });
}

useNockForThirdPartyApis();

describe('Discord sink against discord.com/api', () => {
  it('splits at 2,000 characters: the first part replies to the message, the rest follow in order', async () => {
    const calls: Call[] = [];
    recordDiscord(calls);
    const text = Array.from({ length: 300 }, (_, i) => `line ${i} ${'y'.repeat(5)}`).join('\n');
    const reply = await sink().post(text);
    expect(reply.id).toBe('1500000000000000001');
    const posts = calls.filter((call) => call.method === 'POST');
    expect(posts.length).toBe(3);
    expect(posts[0]?.body.message_reference).toEqual({
      message_id: '1300000000000000001',
      fail_if_not_exists: false,
    });
    expect(posts.slice(1).map((post) => post.body.message_reference)).toEqual([undefined, undefined]);
    for (const post of posts) {
      expect(String(post.body.content).length).toBeLessThanOrEqual(2000);
      expect(post.body.allowed_mentions).toEqual({ parse: [], replied_user: false });
    }
    expect(posts.map((post) => post.body.content).join('\n')).toBe(text);
  });

  it('edits in order, growing and shrinking the set of messages', async () => {
    const calls: Call[] = [];
    recordDiscord(calls);
    const replySink = sink();
    const reply = await replySink.post('Running…');
    await replySink.update(reply, `${'a'.repeat(1990)}\n${'b'.repeat(10)}`);
    await replySink.update(reply, 'done');
    expect(calls.map((call) => `${call.method} ${call.path.replace(CHANNEL, '')}`)).toEqual([
      'POST ',
      'PATCH /1500000000000000001',
      'POST ',
      'PATCH /1500000000000000001',
      'DELETE /1500000000000000002',
    ]);
    expect(calls[3]?.body).toMatchObject({ content: 'done', embeds: [], components: [] });
  });

  it('renders buttons as components whose custom_id carries the command', async () => {
    const calls: Call[] = [];
    recordDiscord(calls);
    await sink().post('Really deploy?', {
      actions: [
        { label: 'Confirm', command: 'confirm deploy-7', style: 'primary' },
        { label: 'Cancel', command: 'cancel', style: 'danger' },
      ],
    });
    expect(calls[0]?.body.components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 1, label: 'Confirm', custom_id: 'dh:confirm deploy-7' },
          { type: 2, style: 4, label: 'Cancel', custom_id: 'dh:cancel' },
        ],
      },
    ]);
  });

  it('shows a failed run as a red embed', async () => {
    const calls: Call[] = [];
    recordDiscord(calls);
    await sink().post('`bash` exited 3 in 40 ms\n```\nthree\n```');
    expect(calls[0]?.body).toMatchObject({
      content: '',
      embeds: [{ title: 'bash exited 3 in 40 ms', description: '```\nthree\n```', color: 0xe01e5a }],
    });
  });

  it('throttles edits of one message: a burst becomes one edit with the latest text', async () => {
    const calls: Call[] = [];
    recordDiscord(calls);
    const time = clock();
    const replySink = sink(time);
    const reply = await replySink.post('0%');
    await Promise.all(['25%', '50%', '75%', '100%'].map((text) => replySink.update(reply, text)));
    expect(calls.filter((call) => call.method === 'PATCH').map((call) => call.body.content)).toEqual([
      '100%',
    ]);
    expect(time.waits).toEqual([1000]);
  });

  it('waits out a 429 in the channel path, then posts once', async () => {
    // The REST client waits the 429 out itself; the wait shows as the gap between the two requests.
    const at: number[] = [];
    const scope = nock(DISCORD)
      .post(CHANNEL)
      .reply(() => {
        at.push(Date.now());
        return [429, { message: 'You are being rate limited.', retry_after: 1.5, global: false }];
      })
      .post(CHANNEL, (body) => body.content === 'hi')
      .reply(() => {
        at.push(Date.now());
        return [200, { id: '9' }];
      });
    const replySink = createDiscordSink(gatewayEvent, { botToken: BOT_TOKEN });
    expect(await replySink.post('hi')).toEqual({ id: '9' });
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(1490);
    expect(scope.isDone()).toBe(true);
  });
});
