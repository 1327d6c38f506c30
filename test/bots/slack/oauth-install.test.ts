/**
 * The Slack install pages (@slack/oauth's InstallProvider with Deckhand's state and store): the
 * round trip stores the installation with its rotating token sealed, never showing it; a forged,
 * expired, foreign or replayed state is refused with a readable page and stores nothing; an
 * uninstalled workspace's token is no longer used. Slack's Web API is a loopback stand-in.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSlackPages,
  createSlackTokenSource,
  forgetSlackInstallation,
  forgetUninstalledSlackWorkspace,
  SLACK_BOT_SCOPES,
} from '../../../src/bots/index.js';
import { createSlackState } from '../../../src/bots/slack/oauth.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { type ApiCall, type FakeApi, startFakeApi } from '../../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const KEY = 'oauth-install-test-key-not-for-real-use';
const STATE_SECRET = 'state-secret-oauth-install-test';
const CLIENT_SECRET = 'client-secret-oauth-install-test';
const REDIRECT = 'https://deckhand.example.test/slack/oauth_redirect';
const logger = createLogger({ level: 'silent', pretty: false });
const config = loadConfig({
  SLACK_SIGNING_SECRET: 'oauth-install-signing-secret',
  SLACK_CLIENT_ID: '111.222',
  SLACK_CLIENT_SECRET: CLIENT_SECRET,
  SLACK_STATE_SECRET: STATE_SECRET,
});

let store: Store;
let slack: FakeApi;
let server: Server;
let base: string;
let team = 'T0TEAMA';

/** Slack's answers: oauth.v2.access with token rotation on, and auth.test for the bot id. */
function slackAnswers(call: ApiCall) {
  if (call.path === '/api/oauth.v2.access') {
    return {
      status: 200,
      body: {
        ok: true,
        access_token: 'xoxe.xoxb-installed-secret',
        refresh_token: 'xoxe-1-refresh-installed-secret',
        expires_in: 43_200,
        token_type: 'bot',
        scope: 'app_mentions:read,chat:write',
        bot_user_id: 'U0BOT',
        app_id: 'A0APP',
        team: { id: team, name: 'Team <A>' },
        enterprise: null,
        authed_user: { id: 'U0ADMIN' },
        is_enterprise_install: false,
      },
    };
  }
  if (call.path === '/api/auth.test') {
    return {
      status: 200,
      body: { ok: true, bot_id: 'B0BOT', user_id: 'U0BOT', team_id: team, url: 'https://a.slack.com/' },
    };
  }
  return { status: 404, body: { ok: false, error: 'unknown_method' } };
}

beforeAll(async () => {
  store = await openTestStore({ secretKey: KEY });
  slack = await startFakeApi(slackAnswers);
  const pages = createSlackPages({
    config,
    store,
    logger,
    env: {
      SLACK_API_URL: `${slack.url}/api`,
      SLACK_REDIRECT_URI: REDIRECT,
    },
  });
  const app = express();
  if (pages) app.use(pages);
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await slack?.close();
  await dropTestStore(store);
});
beforeEach(() => {
  slack.calls.length = 0;
});

async function startInstall(): Promise<{ state: string; cookie: string; location: URL }> {
  const res = await fetch(`${base}/slack/install`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { state: location.searchParams.get('state') ?? '', cookie, location };
}

function callback(query: string, cookie?: string): Promise<Response> {
  return fetch(`${base}/slack/oauth_redirect?${query}`, cookie ? { headers: { cookie } } : {});
}

async function installations(): Promise<number> {
  return store.models.Installation.countDocuments({});
}

describe('Slack install pages', () => {
  it('are not served without SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET', () => {
    const bare = loadConfig({ SLACK_SIGNING_SECRET: 'x', SLACK_CLIENT_ID: '111.222' });
    expect(createSlackPages({ config: bare, store, logger, env: {} })).toBeUndefined();
  });

  it('send the installer to Slack with its scopes, redirect URI and a state cookie', async () => {
    const { state, cookie, location } = await startInstall();
    expect(`${location.origin}${location.pathname}`).toBe('https://slack.com/oauth/v2/authorize');
    expect(location.searchParams.get('client_id')).toBe('111.222');
    expect(location.searchParams.get('scope')).toBe(SLACK_BOT_SCOPES.join(','));
    expect(location.searchParams.get('redirect_uri')).toBe(REDIRECT);
    expect(state).toMatch(/^\d+\.[0-9a-f]{24}\.[0-9a-f]{64}$/);
    expect(cookie).toBe(`deckhand_slack_state=${state}`);
  });

  it('store the installation a completed install returns, its tokens sealed and never on the page', async () => {
    const { state, cookie } = await startInstall();
    const res = await callback(`code=code-1&state=${encodeURIComponent(state)}`, cookie);
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('Deckhand is installed');
    expect(page).toContain('Team &#60;A&#62;');
    expect(page).not.toMatch(/xoxe|xoxb|client-secret/);

    const exchange = slack.calls.find((call) => call.path === '/api/oauth.v2.access');
    expect(exchange?.body).toMatchObject({
      code: 'code-1',
      client_id: '111.222',
      client_secret: CLIENT_SECRET,
      redirect_uri: REDIRECT,
    });
    expect(exchange?.headers.authorization).toBeUndefined();

    const installed = await store.findInstallation('slack', { teamId: 'T0TEAMA' });
    expect(installed).toMatchObject({
      id: 'slack:T0TEAMA',
      botToken: 'xoxe.xoxb-installed-secret',
      refreshToken: 'xoxe-1-refresh-installed-secret',
      botId: 'B0BOT',
      botUserId: 'U0BOT',
      appId: 'A0APP',
      botScopes: ['app_mentions:read', 'chat:write'],
      installedBy: 'U0ADMIN',
    });
    const expiresIn = new Date(installed?.tokenExpiresAt ?? 0).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(11 * 3_600_000);
    const atRest = await store.models.Installation.findById('slack:T0TEAMA').lean();
    expect(atRest?.botToken).toMatch(/^enc:v2:/);
    expect(atRest?.refreshToken).toMatch(/^enc:v2:/);
    expect(JSON.stringify(atRest)).not.toContain('xoxe');
    // The first person to install Deckhand in the workspace owns it there.
    expect(await store.roleOf({ platform: 'slack', workspaceId: 'T0TEAMA' }, 'U0ADMIN')).toBe('owner');

    // The same callback again (a replay, even with the cookie) is refused before Slack is asked.
    slack.calls.length = 0;
    const replay = await callback(`code=code-1&state=${encodeURIComponent(state)}`, cookie);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('already used');
    expect(slack.calls).toHaveLength(0);
  });

  it('refuse a forged, expired or foreign state with a readable page, storing nothing', async () => {
    team = 'T0REFUSED';
    const before = await installations();
    const { state } = await startInstall();

    const foreign = await callback(`code=c&state=${encodeURIComponent(state)}`);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('started in another browser');

    const forged = `${Date.now()}.${'a'.repeat(24)}.${'b'.repeat(64)}`;
    const forgedRes = await callback(`code=c&state=${forged}`, `deckhand_slack_state=${forged}`);
    expect(forgedRes.status).toBe(400);
    expect(await forgedRes.text()).toContain('was not issued here');

    const old = createSlackState(STATE_SECRET, Date.now() - 11 * 60_000);
    const expired = await callback(`code=c&state=${old}`, `deckhand_slack_state=${old}`);
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('expired');

    const noState = await callback('code=c');
    expect(noState.status).toBe(400);
    expect(await noState.text()).toContain('Deckhand was not installed');

    const denied = await callback('error=access_denied');
    expect(denied.status).toBe(400);
    expect(await denied.text()).toContain('Slack said: access_denied.');

    expect(slack.calls).toHaveLength(0);
    expect(await installations()).toBe(before);
    expect(await store.findInstallation('slack', { teamId: 'T0REFUSED' })).toBeNull();
  });

  it('say so readably, without details, when Slack does not accept the code', async () => {
    const { state, cookie } = await startInstall();
    const previous = slack.reply;
    slack.reply = () => ({ status: 200, body: { ok: false, error: 'invalid_code' } });
    try {
      const res = await callback(`code=bad&state=${encodeURIComponent(state)}`, cookie);
      expect(res.status).toBe(502);
      const page = await res.text();
      expect(page).toContain('Slack did not accept the install');
      expect(page).not.toContain(CLIENT_SECRET);
    } finally {
      slack.reply = previous;
    }
  });

  it('forget an uninstalled workspace, so its token is no longer used', async () => {
    expect(await store.findInstallation('slack', { teamId: 'T0TEAMA' })).not.toBeNull();
    expect(await forgetSlackInstallation(store, 'T0TEAMA')).toBe(true);
    expect(await store.findInstallation('slack', { teamId: 'T0TEAMA' })).toBeNull();
    const tokens = createSlackTokenSource({ installations: store, botToken: 'xoxb-single-workspace' });
    expect(await tokens.botTokenFor({ teamId: 'T0TEAMA' })).toBe('xoxb-single-workspace');
    expect(await forgetSlackInstallation(store, 'T0TEAMA')).toBe(false);
  });
});

describe('Slack uninstall events', () => {
  const envelope = (event: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    type: 'event_callback',
    team_id: 'T0GONE',
    enterprise_id: null,
    event,
    ...extra,
  });
  const install = (teamId: string | undefined, enterpriseId?: string) =>
    store.saveInstallation({ platform: 'slack', teamId, enterpriseId, botToken: 'xoxb-gone' });

  it('app_uninstalled forgets the workspace', async () => {
    await install('T0GONE');
    expect(await forgetUninstalledSlackWorkspace(store, envelope({ type: 'app_uninstalled' }))).toBe(true);
    expect(await store.findInstallation('slack', { teamId: 'T0GONE' })).toBeNull();
  });

  it('tokens_revoked forgets the workspace only when bot tokens are revoked', async () => {
    await install('T0GONE');
    const userOnly = envelope({ type: 'tokens_revoked', tokens: { oauth: ['U1'] } });
    expect(await forgetUninstalledSlackWorkspace(store, userOnly)).toBe(false);
    expect(await store.findInstallation('slack', { teamId: 'T0GONE' })).not.toBeNull();
    const bot = envelope({ type: 'tokens_revoked', tokens: { bot: ['U0BOT'] } });
    expect(await forgetUninstalledSlackWorkspace(store, bot)).toBe(true);
    expect(await store.findInstallation('slack', { teamId: 'T0GONE' })).toBeNull();
  });

  it('an org-wide uninstall forgets the org’s installation', async () => {
    await install(undefined, 'E0ORG');
    const body = envelope(
      { type: 'app_uninstalled' },
      { enterprise_id: 'E0ORG', authorizations: [{ is_enterprise_install: true }] },
    );
    expect(await forgetUninstalledSlackWorkspace(store, body)).toBe(true);
    expect(await store.findInstallation('slack', { enterpriseId: 'E0ORG' })).toBeNull();
  });

  it('other events change nothing', async () => {
    await install('T0GONE');
    const mention = envelope({ type: 'app_mention', user: 'U1', text: 'hi', channel: 'C1', ts: '1.1' });
    expect(await forgetUninstalledSlackWorkspace(store, mention)).toBe(false);
    expect(await forgetUninstalledSlackWorkspace(store, { type: 'url_verification' })).toBe(false);
    expect(await store.findInstallation('slack', { teamId: 'T0GONE' })).not.toBeNull();
  });
});
