/**
 * Socket Mode through the real Socket Mode client: a loopback stand-in for apps.connections.open and
 * Slack's WebSocket sends envelopes; each becomes one durable task before it is acked.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { createPipeline, createSlackBodyParser, startSlackSocketMode } from '../../../src/bots/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { type FakeApi, startFakeApi } from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';
import { until } from './harness.js';

const APP_TOKEN = 'xapp-1-A0APP-socket-test';
let store: Store;
let api: FakeApi;
let wss: WebSocketServer;
let socket: WebSocket | undefined;
const acks: Record<string, unknown>[] = [];
let connection: Awaited<ReturnType<typeof startSlackSocketMode>>;

beforeAll(async () => {
  store = await openTestStore();
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => acks.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'test' } }));
  });
  api = await startFakeApi((call) =>
    call.path === '/api/apps.connections.open'
      ? { status: 200, body: { ok: true, url: wsUrl } }
      : { status: 404 },
  );
  const config = loadConfig({});
  const pipeline = createPipeline(store);
  const parse = createSlackBodyParser({ config, threads: store });
  connection = await startSlackSocketMode({
    appToken: APP_TOKEN,
    apiUrl: `${api.url}/api`,
    logger: createLogger({ level: 'silent', pretty: false }),
    parse,
    ingest: (event) => pipeline.ingest(event),
  });
});

afterAll(async () => {
  await connection?.stop();
  await new Promise((resolve) => wss?.close(resolve));
  await api?.close();
  await dropTestStore(store);
});

function send(envelope: Record<string, unknown>): void {
  if (!socket) throw new Error('not connected');
  socket.send(JSON.stringify(envelope));
}

const mention = {
  type: 'event_callback',
  team_id: 'T0SOCK',
  api_app_id: 'A0APP',
  event_id: 'Ev0SOCKET1',
  authorizations: [{ user_id: 'U0BOT', team_id: 'T0SOCK', is_bot: true }],
  event: { type: 'app_mention', user: 'U0ALICE', text: '<@U0BOT> help', ts: '1.1', channel: 'C0SOCK' },
};

describe('Slack Socket Mode', () => {
  it('opens the connection with the app token', () => {
    const open = api.calls.find((call) => call.path === '/api/apps.connections.open');
    expect(open?.headers.authorization).toBe(`Bearer ${APP_TOKEN}`);
  });

  it('records an event envelope as one task before acking it, and a redelivery as nothing new', async () => {
    send({
      envelope_id: 'env-1',
      type: 'events_api',
      payload: mention,
      accepts_response_payload: false,
      retry_attempt: 0,
    });
    await until(() => acks.some((ack) => ack.envelope_id === 'env-1'));
    const task = await store.models.Task.findOne({ 'source.eventId': 'Ev0SOCKET1' }).lean();
    expect(task?.payload).toMatchObject({
      platform: 'slack',
      channelId: 'C0SOCK',
      text: 'help',
      eventType: 'app_mention',
    });

    send({
      envelope_id: 'env-2',
      type: 'events_api',
      payload: mention,
      accepts_response_payload: false,
      retry_attempt: 1,
    });
    await until(() => acks.some((ack) => ack.envelope_id === 'env-2'));
    expect(await store.models.Task.countDocuments({ 'source.eventId': 'Ev0SOCKET1' })).toBe(1);
  });

  it('acks a slash command with its first answer and the bot’s own message with nothing', async () => {
    send({
      envelope_id: 'env-3',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        command: '/deckhand',
        text: 'status',
        response_url: 'https://hooks.slack.com/commands/1',
        trigger_id: 'trig-socket-1',
        user_id: 'U0ALICE',
        team_id: 'T0SOCK',
        channel_id: 'C0SOCK',
      },
    });
    await until(() => acks.some((ack) => ack.envelope_id === 'env-3'));
    expect(acks.find((ack) => ack.envelope_id === 'env-3')?.payload).toEqual({
      response_type: 'ephemeral',
      text: 'On it…',
    });
    expect(await store.models.Task.countDocuments({ 'source.eventId': 'trig-socket-1' })).toBe(1);

    const own = { ...mention, event_id: 'Ev0SOCKETSELF', event: { ...mention.event, user: 'U0BOT' } };
    send({ envelope_id: 'env-4', type: 'events_api', payload: own, accepts_response_payload: false });
    await until(() => acks.some((ack) => ack.envelope_id === 'env-4'));
    expect(await store.models.Task.countDocuments({ 'source.eventId': 'Ev0SOCKETSELF' })).toBe(0);
  });
});
