/**
 * The Slack PlatformAdapter as the server, worker and digest runner use it: how /slack/events is
 * acked, where replies go, and which workspace token a digest is posted with. Slack's Web API is a
 * loopback stand-in (test/support/platforms/recording.ts); installations live in the real store.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackAdapter } from '../../../src/bots/index.js';
import {
  type ChannelTarget,
  type ComposedDigest,
  createLogger,
  DeckhandError,
  loadConfig,
  type NormalizedEvent,
  type PlatformAdapter,
} from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { type ApiCall, type FakeApi, startFakeApi } from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const logger = createLogger({ level: 'silent', pretty: false });
const T1_TOKEN = 'xoxb-1111-adapter-single-workspace';
const T2_TOKEN = 'xoxb-2222-adapter-installed-workspace';
const FORM = 'application/x-www-form-urlencoded';

const mention: NormalizedEvent = {
  platform: 'slack',
  workspaceId: 'T1',
  channelId: 'C1',
  threadId: '1700000000.000100',
  userId: 'U1',
  text: 'status',
  mentions: [],
  deliveryKey: 'Ev1',
  eventType: 'app_mention',
  replyTo: { channel: 'C1', threadTs: '1700000000.000100', messageTs: '1700000000.000100' },
  receivedAt: '2025-01-15T12:00:00.000Z',
};

const digest: ComposedDigest = {
  title: 'Daily digest',
  text: 'Daily digest: 2 pull requests merged',
  slack: {
    text: 'Daily digest: 2 pull requests merged',
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Daily digest*\n2 pull requests merged' } }],
  },
  discord: { embeds: [] },
};

let api: FakeApi;
let store: Store;
let posted = 0;

/** Slack's answers: every call succeeds; chat.postMessage answers ts 3.1, 3.2, … */
function slackAnswers(call: ApiCall) {
  if (call.path === '/api/chat.postMessage') return { status: 200, body: { ok: true, ts: `3.${++posted}` } };
  return { status: 200, body: { ok: true } };
}

function adapter(env: Record<string, string>, withStore = true): PlatformAdapter {
  return createSlackAdapter({
    config: loadConfig(env),
    logger,
    ...(withStore ? { store } : {}),
    env: { SLACK_API_URL: `${api.url}/api` },
    retry: { baseDelayMs: 1 },
  });
}

function posts(): ApiCall[] {
  return api.calls.filter((call) => call.path === '/api/chat.postMessage');
}

beforeAll(async () => {
  store = await openTestStore();
  api = await startFakeApi(slackAnswers);
});

afterEach(() => {
  api.calls.length = 0;
  api.reply = slackAnswers;
});

afterAll(async () => {
  await api?.close();
  await dropTestStore(store);
});

describe('Slack adapter', () => {
  it('acks a slash command with its first words and an event with an empty 200', () => {
    const [route] = adapter({ SLACK_BOT_TOKEN: T1_TOKEN }).routes;
    expect(route?.path).toBe('/slack/events');
    const form = { 'content-type': FORM };
    expect(route?.ack({ taskId: 't1', duplicate: false, headers: form })).toEqual({
      status: 200,
      body: { response_type: 'ephemeral', text: 'On it…' },
    });
    expect(route?.ack({ taskId: 't1', duplicate: true, headers: form })).toEqual({
      status: 200,
      body: { response_type: 'ephemeral', text: 'Already on it.' },
    });
    expect(
      route?.ack({ taskId: 't2', duplicate: false, headers: { 'content-type': 'application/json' } }),
    ).toEqual({ status: 200 });
  });

  it('shows 👀 for a mention, not for a button click or a slash command', () => {
    const slack = adapter({ SLACK_BOT_TOKEN: T1_TOKEN });
    expect(slack.showsReceipt(mention)).toBe(true);
    expect(slack.showsReceipt({ ...mention, eventType: 'block_actions' })).toBe(false);
    expect(slack.showsReceipt({ ...mention, eventType: 'slash_command', replyTo: { channel: 'C1' } })).toBe(
      false,
    );
    expect(slack.joinsThreads).toBe(true);
  });

  it('replies in the thread through the Web API with SLACK_BOT_TOKEN, as mrkdwn', async () => {
    const sink = adapter({ SLACK_BOT_TOKEN: T1_TOKEN }).sinkFor(mention);
    const reply = await sink.post('**All green**, see [the run](https://ci.example/1)');
    await sink.status('working');
    expect(reply.id).toBe(`3.${posted}`);
    expect(api.calls.map((call) => call.path)).toEqual(['/api/chat.postMessage', '/api/reactions.add']);
    const [post, reaction] = api.calls;
    expect(post?.headers.authorization).toBe(`Bearer ${T1_TOKEN}`);
    expect(post?.body).toMatchObject({
      channel: 'C1',
      thread_ts: '1700000000.000100',
      text: '*All green*, see <https://ci.example/1|the run>',
    });
    expect(JSON.stringify(post?.body)).not.toContain(T1_TOKEN);
    expect(reaction?.body).toMatchObject({ channel: 'C1', timestamp: '1700000000.000100', name: 'eyes' });
  });

  it('logs replies instead of sending them when no Slack token is configured', async () => {
    const sink = adapter({}, false).sinkFor(mention);
    expect((await sink.post('hello')).id).toMatch(/^logged:/);
    expect(api.calls).toEqual([]);
  });

  it('posts a digest to an OAuth-installed workspace with that workspace’s token', async () => {
    await store.saveInstallation({ platform: 'slack', teamId: 'T2', botToken: T2_TOKEN });
    const slack = adapter({
      SLACK_BOT_TOKEN: T1_TOKEN,
      SLACK_CLIENT_ID: '1111.2222',
      SLACK_CLIENT_SECRET: 'adapter-client-secret',
    });
    const installed: ChannelTarget = { platform: 'slack', workspaceId: 'T2', channelId: 'C2' };
    const single: ChannelTarget = { platform: 'slack', workspaceId: 'T1', channelId: 'C1' };
    const first = await slack.digests?.post(installed, digest, 'schedule-1@2025-01-15T08:00Z');
    await slack.digests?.post(single, digest, 'schedule-2@2025-01-15T08:00Z');
    expect(first).toEqual({ messageId: `3.${posted - 1}` });
    const [toT2, toT1] = posts();
    expect(toT2?.headers.authorization).toBe(`Bearer ${T2_TOKEN}`);
    expect(toT2?.body).toMatchObject({
      channel: 'C2',
      text: digest.slack.text,
      unfurl_links: false,
      unfurl_media: false,
      blocks: digest.slack.blocks,
    });
    expect(toT1?.headers.authorization).toBe(`Bearer ${T1_TOKEN}`);
  });

  it('posts a failure notice as plain text', async () => {
    const slack = adapter({ SLACK_BOT_TOKEN: T1_TOKEN });
    await slack.digests?.notice({ platform: 'slack', workspaceId: 'T1', channelId: 'C1' }, 'Digest failed.');
    expect(posts().map((call) => [call.body.channel, call.body.text, call.body.blocks])).toEqual([
      ['C1', 'Digest failed.', undefined],
    ]);
  });

  it('refuses a digest for a workspace with no token, saying how to give it one', async () => {
    const slack = adapter({ SLACK_CLIENT_ID: '1111.2222', SLACK_CLIENT_SECRET: 'adapter-client-secret' });
    const error = await slack.digests
      ?.post({ platform: 'slack', workspaceId: 'T9', channelId: 'C9' }, digest, 'k')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeckhandError);
    expect((error as DeckhandError).code).toBe('NOT_CONFIGURED');
    expect((error as DeckhandError).userMessage).toMatch(/SLACK_BOT_TOKEN.*\/slack\/install/);
    expect(posts()).toEqual([]);
  });

  it('retries a digest through Slack’s 503s and posts it once; a lasting failure throws', async () => {
    let failures = 2;
    api.reply = (call) =>
      call.path === '/api/chat.postMessage' && failures-- > 0 ? { status: 503 } : slackAnswers(call);
    const slack = adapter({ SLACK_BOT_TOKEN: T1_TOKEN });
    const target: ChannelTarget = { platform: 'slack', workspaceId: 'T1', channelId: 'C1' };
    expect(await slack.digests?.post(target, digest, 'k')).toEqual({ messageId: `3.${posted}` });
    expect(posts()).toHaveLength(3);

    api.reply = () => ({ status: 200, body: { ok: false, error: 'channel_not_found' } });
    const error = await slack.digests?.post(target, digest, 'k').catch((e: unknown) => e);
    expect((error as DeckhandError).userMessage).toBe('Slack chat.postMessage failed: channel_not_found.');
  });
});
