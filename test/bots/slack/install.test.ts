/**
 * Multi-workspace Slack: the OAuth install stores an installation, and the token lookup and the reply
 * sinks serve each workspace with its own token.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, createSinkFactory, listen } from '../../../src/bots/index.js';
import { createSlackAuthorize } from '../../../src/bots/slack/index.js';
import { type Config, createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { useNockForThirdPartyApis } from '../../support/nock.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const SIGNING = 'install-test-signing-secret';
let store: Store;
let server: Server;
let base: string;
let config: Config;
const logger = createLogger({ level: 'silent', pretty: false });

useNockForThirdPartyApis();
beforeAll(async () => {
  store = await openTestStore();
  config = loadConfig({
    SLACK_SIGNING_SECRET: SIGNING,
    SLACK_CLIENT_ID: '111.222',
    SLACK_CLIENT_SECRET: 'client-secret-install-test',
    SLACK_STATE_SECRET: 'state-secret-install-test',
    SLACK_BOT_TOKEN: 'xoxb-fallback-token',
  });
  server = await listen(
    createHttpApp({ config, store, pipeline: createPipeline(store), logger }).app,
    0,
    '127.0.0.1',
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await dropTestStore(store);
});

async function startInstall(): Promise<{ state: string; cookie: string }> {
  const res = await fetch(`${base}/slack/install`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe('https://slack.com/oauth/v2/authorize');
  expect(location.searchParams.get('client_id')).toBe('111.222');
  expect(location.searchParams.get('scope')).toContain('app_mentions:read');
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { state: location.searchParams.get('state') ?? '', cookie };
}

describe('Slack installs', () => {
  it('stores the installation a completed OAuth install returns', async () => {
    const { state, cookie } = await startInstall();
    const scope = nock('https://slack.com', { badheaders: ['authorization'] })
      .post('/api/oauth.v2.access', (body: Record<string, string>) => {
        return (
          body.code === 'code-1' &&
          body.client_id === '111.222' &&
          body.client_secret === 'client-secret-install-test'
        );
      })
      .reply(200, {
        ok: true,
        access_token: 'xoxb-installed-team-a',
        token_type: 'bot',
        scope: 'app_mentions:read,chat:write',
        bot_user_id: 'U0BOTA',
        app_id: 'A0APP',
        team: { id: 'T0TEAMA', name: 'Team A' },
        enterprise: null,
        authed_user: { id: 'U0ADMIN' },
        is_enterprise_install: false,
      });
    // @slack/oauth asks auth.test for the bot id with the new token.
    const botId = nock('https://slack.com', { reqheaders: { authorization: 'Bearer xoxb-installed-team-a' } })
      .post('/api/auth.test')
      .reply(200, { ok: true, bot_id: 'B0BOTA', user_id: 'U0BOTA', team_id: 'T0TEAMA' });
    const res = await fetch(`${base}/slack/oauth_redirect?code=code-1&state=${encodeURIComponent(state)}`, {
      headers: { cookie },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Deckhand is installed');
    expect(scope.isDone()).toBe(true);
    expect(botId.isDone()).toBe(true);
    const installed = await store.findInstallation('slack', { teamId: 'T0TEAMA' });
    expect(installed).toMatchObject({
      id: 'slack:T0TEAMA',
      botToken: 'xoxb-installed-team-a',
      botUserId: 'U0BOTA',
      botScopes: ['app_mentions:read', 'chat:write'],
      installedBy: 'U0ADMIN',
    });
  });

  it('refuses a callback with a forged state or from another browser, storing nothing', async () => {
    const { state } = await startInstall();
    const otherBrowser = await fetch(
      `${base}/slack/oauth_redirect?code=c&state=${encodeURIComponent(state)}`,
    );
    expect(otherBrowser.status).toBe(400);
    expect(await otherBrowser.text()).toContain('another browser');
    const forged = `${Date.now()}.${'a'.repeat(24)}.${'b'.repeat(64)}`;
    const res = await fetch(`${base}/slack/oauth_redirect?code=c&state=${forged}`, {
      headers: { cookie: `deckhand_slack_state=${forged}` },
    });
    expect(res.status).toBe(400);
    expect(
      await store.models.Installation.countDocuments({ botToken: { $ne: 'xoxb-installed-team-a' } }),
    ).toBe(0);
  });

  it('authorizes each workspace with its own token, others with SLACK_BOT_TOKEN, and says what to do when there is none', async () => {
    const authorize = createSlackAuthorize({ installations: store, botToken: 'xoxb-fallback-token' });
    const source = { isEnterpriseInstall: false, enterpriseId: undefined };
    expect(await authorize({ ...source, teamId: 'T0TEAMA' })).toMatchObject({
      botToken: 'xoxb-installed-team-a',
      botUserId: 'U0BOTA',
    });
    expect(await authorize({ ...source, teamId: 'T0OTHER' })).toEqual({ botToken: 'xoxb-fallback-token' });
    await expect(
      createSlackAuthorize({ installations: store })({ ...source, teamId: 'T0OTHER' }),
    ).rejects.toThrow(/not installed in Slack workspace T0OTHER/);
  });

  it('replies in an installed workspace with that workspace’s token', async () => {
    const scope = nock('https://slack.com', { reqheaders: { authorization: 'Bearer xoxb-installed-team-a' } })
      .post('/api/chat.postMessage')
      .reply(200, { ok: true, ts: '5.5' });
    const sinkFor = createSinkFactory({ config, logger, env: {}, installations: store });
    const sink = sinkFor({
      platform: 'slack',
      workspaceId: 'T0TEAMA',
      channelId: 'C1',
      threadId: '1.1',
      userId: 'U1',
      text: 'hi',
      mentions: [],
      deliveryKey: 'k',
      eventType: 'app_mention',
      replyTo: { channel: 'C1' },
      receivedAt: new Date().toISOString(),
    });
    expect(await sink.post('hello team A')).toEqual({ id: '5.5' });
    expect(scope.isDone()).toBe(true);
  });
});
