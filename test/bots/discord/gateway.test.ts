/**
 * Gateway dispatches into the pipeline (real store), the interaction callback, command
 * registration and the Message Content intent check, against discord.com/api (nock).
 */
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDiscordGatewayParser,
  GATEWAY_MESSAGE_CONTENT_LIMITED,
  type GatewayDeps,
  gatewayIntents,
  handleGatewayDispatch,
  messageContentIntent,
  respondToInteraction,
} from '../../../src/bots/discord/index.js';
import { createPipeline } from '../../../src/bots/index.js';
import { discordCommand } from '../../../src/cli/discord.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { useNockForThirdPartyApis } from '../../support/nock.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const DISCORD = 'https://discord.com';
const BOT = '1200000000000000000';
const BOT_TOKEN = 'discord-bot-token-gateway-test';
let store: Store;
let deps: GatewayDeps;
const threads = new Set<string>();

useNockForThirdPartyApis();
beforeAll(async () => {
  store = await openTestStore();
  const pipeline = createPipeline(store);
  deps = {
    parser: createDiscordGatewayParser({ config: loadConfig({}), threads: store }),
    ingest: (event) => pipeline.ingest(event),
    botUserId: () => BOT,
    channelInfo: (channelId) => ({ inThread: threads.has(channelId) }),
    respond: (interaction, body) => respondToInteraction(interaction, body),
    logger: createLogger({ level: 'silent', pretty: false }),
  };
});
afterAll(async () => {
  await dropTestStore(store);
});

const message = (id: string, fields: Record<string, unknown> = {}) => ({
  id,
  channel_id: '1000000000000000000',
  guild_id: '1100000000000000000',
  type: 0,
  content: `<@${BOT}> status`,
  author: { id: '900000000000000000', username: 'alice' },
  mentions: [{ id: BOT }],
  ...fields,
});

const tasksFor = (key: string) => store.models.Task.countDocuments({ 'source.eventId': key });

describe('Discord gateway dispatches', () => {
  it('asks for the Message Content intent only when configured', () => {
    expect(gatewayIntents(true)).toContain(1 << 15);
    expect(gatewayIntents(false)).not.toContain(1 << 15);
  });

  it('makes one task per mention, keyed by the message id, even when dispatched twice', async () => {
    await handleGatewayDispatch({ t: 'MESSAGE_CREATE', d: message('1300000000000000001') }, deps);
    await handleGatewayDispatch({ t: 'MESSAGE_CREATE', d: message('1300000000000000001') }, deps);
    expect(await tasksFor('1300000000000000001')).toBe(1);
  });

  it("ignores the bot's own messages and other traffic: no task", async () => {
    const own = message('1300000000000000002', { author: { id: BOT, username: 'deckhand', bot: true } });
    await handleGatewayDispatch({ t: 'MESSAGE_CREATE', d: own }, deps);
    await handleGatewayDispatch({ t: 'TYPING_START', d: { channel_id: '1' } }, deps);
    expect(await tasksFor('1300000000000000002')).toBe(0);
  });

  it('continues a thread it is in without a mention, and only that thread', async () => {
    threads.add('2000000000000000001').add('2000000000000000002');
    // Deckhand posted in the first thread (the reply sinks remember that), not in the second.
    await store.markThread({
      platform: 'discord',
      workspaceId: '1100000000000000000',
      channelId: '2000000000000000001',
      threadId: '2000000000000000001',
    });
    const plain = { content: 'and node?', mentions: [] };
    await handleGatewayDispatch(
      {
        t: 'MESSAGE_CREATE',
        d: message('1300000000000000003', { ...plain, channel_id: '2000000000000000001' }),
      },
      deps,
    );
    await handleGatewayDispatch(
      {
        t: 'MESSAGE_CREATE',
        d: message('1300000000000000004', { ...plain, channel_id: '2000000000000000002' }),
      },
      deps,
    );
    expect(await tasksFor('1300000000000000003')).toBe(1);
    expect(await tasksFor('1300000000000000004')).toBe(0);
  });

  it('records a gateway interaction, then defers it through the callback endpoint', async () => {
    const bodies: unknown[] = [];
    const scope = nock(DISCORD, { badheaders: ['authorization'] })
      .post(
        '/api/v10/interactions/1300000000000000005/gateway-token/callback',
        (body) => bodies.push(body) > 0,
      )
      .reply(204);
    const interaction = {
      id: '1300000000000000005',
      application_id: BOT,
      type: 2,
      token: 'gateway-token',
      channel_id: '1000000000000000000',
      guild_id: '1100000000000000000',
      member: { user: { id: '900000000000000000', username: 'alice' } },
      data: { name: 'deckhand', type: 1, options: [{ name: 'text', type: 3, value: 'help' }] },
    };
    await handleGatewayDispatch({ t: 'INTERACTION_CREATE', d: interaction }, deps);
    expect(await tasksFor('1300000000000000005')).toBe(1);
    expect(bodies).toEqual([{ type: 5 }]);
    expect(scope.isDone()).toBe(true);
  });
});

describe('Discord application calls', () => {
  it('registers /deckhand and "Ask Deckhand" with one PUT, globally or in one server', async () => {
    const config = loadConfig({ DISCORD_APPLICATION_ID: BOT, DISCORD_BOT_TOKEN: BOT_TOKEN });
    const sent: unknown[] = [];
    const scope = nock(DISCORD, { reqheaders: { authorization: `Bot ${BOT_TOKEN}` } })
      .put(`/api/v10/applications/${BOT}/commands`, (body) => sent.push(body) > 0)
      .reply(200, [
        { id: '1', name: 'deckhand' },
        { id: '2', name: 'Ask Deckhand' },
      ])
      .put(`/api/v10/applications/${BOT}/guilds/1100000000000000000/commands`)
      .reply(200, [{ id: '1', name: 'deckhand' }]);
    const lines: string[] = [];
    const out = (line: string) => void lines.push(line);
    expect(await discordCommand(['register-commands'], { config, env: {}, out })).toBe(0);
    expect(
      await discordCommand(['register-commands', '--guild', '1100000000000000000'], { config, env: {}, out }),
    ).toBe(0);
    expect(scope.isDone()).toBe(true);
    expect(sent[0]).toMatchObject([
      { name: 'deckhand', type: 1, options: [{ type: 3, name: 'text' }] },
      { name: 'Ask Deckhand', type: 3 },
    ]);
    expect(lines[0]).toBe('Registered "deckhand", "Ask Deckhand" globally (may take up to an hour to show).');
    expect(lines[1]).toBe('Registered "deckhand" in server 1100000000000000000.');
  });

  it('refuses to register without the application id, naming the variable, and calls nothing', async () => {
    const config = loadConfig({ DISCORD_BOT_TOKEN: BOT_TOKEN });
    await expect(discordCommand(['register-commands'], { config, env: {} })).rejects.toThrow(
      /DISCORD_APPLICATION_ID/,
    );
    await expect(
      discordCommand(['register-commands', '--guild', 'abc'], { config, env: {} }),
    ).rejects.toThrow(/numeric/);
  });

  it('reads whether the Message Content intent is on from the application flags', async () => {
    nock(DISCORD)
      .get('/api/v10/applications/@me')
      .reply(200, { id: BOT, flags: GATEWAY_MESSAGE_CONTENT_LIMITED })
      .get('/api/v10/applications/@me')
      .reply(200, { id: BOT, flags: 0 });
    expect(await messageContentIntent(BOT_TOKEN)).toBe('enabled');
    expect(await messageContentIntent(BOT_TOKEN)).toBe('disabled');
  });
});
