/**
 * Slack token rotation: an installed workspace's bot token expires (~12 h) and Deckhand renews it
 * with the stored refresh token shortly before, stores the renewed token (sealed), and uses it;
 * concurrent callers share one renewal, and a renewal made by another process wins. Without an
 * installation SLACK_BOT_TOKEN serves, else the error says how to install.
 * Slack's Web API is a loopback stand-in started here.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackTokenSource, slackTokenSourceFromConfig } from '../../../src/bots/slack/index.js';
import { createLogger, DeckhandError, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../../support/store.js';

const KEY = 'token-rotation-test-key-not-for-real-use';
const CLIENT = { clientId: '111.222', clientSecret: 'client-secret-rotation-test' };
const logger = createLogger({ level: 'silent', pretty: false });

interface RefreshCall {
  body: Record<string, string>;
  authorization: string | undefined;
}

/** The stand-in for slack.com/api: answers oauth.v2.access as `answer` says. */
let answer: (call: RefreshCall) => Promise<Record<string, unknown>>;
const calls: RefreshCall[] = [];
let slack: Server;
let apiUrl: string;
let store: Store;
let otherProcess: Store;

async function bodyOf(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

beforeAll(async () => {
  const uri = testDatabaseUri('rotation');
  store = await openTestStore({ uri, secretKey: KEY });
  // A second connection to the same database: another Deckhand process.
  otherProcess = await openTestStore({ uri, secretKey: KEY, ensureIndexes: false });
  slack = createServer(async (req, res) => {
    const call = { body: await bodyOf(req), authorization: req.headers.authorization };
    if (req.url !== '/api/oauth.v2.access') {
      res.writeHead(404).end();
      return;
    }
    calls.push(call);
    const reply = await answer(call);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api`;
});
afterAll(async () => {
  await new Promise((resolve) => slack?.close(resolve));
  await otherProcess?.close();
  await dropTestStore(store);
});
beforeEach(() => {
  calls.length = 0;
  answer = async (call) =>
    call.body.grant_type === 'refresh_token'
      ? {
          ok: true,
          access_token: `xoxe.xoxb-renewed-${calls.length}`,
          refresh_token: `xoxe-1-refresh-renewed-${calls.length}`,
          expires_in: 43_200,
          token_type: 'bot',
        }
      : { ok: false, error: 'invalid_grant_type' };
});

async function installRotating(teamId: string, expiresInMs: number): Promise<void> {
  await store.saveInstallation({
    platform: 'slack',
    teamId,
    botUserId: 'U0BOT',
    botToken: 'xoxe.xoxb-about-to-expire',
    refreshToken: 'xoxe-1-refresh-original',
    tokenExpiresAt: new Date(Date.now() + expiresInMs),
  });
}

function tokenSource() {
  return createSlackTokenSource({ installations: store, ...CLIENT, apiUrl, logger });
}

describe('Slack token rotation', () => {
  it('a rotated Slack token is refreshed: renewed with the refresh token, stored, and not renewed again', async () => {
    await installRotating('T0SOON', 60_000);
    const source = tokenSource();

    expect(await source.botTokenFor({ teamId: 'T0SOON' })).toBe('xoxe.xoxb-renewed-1');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: 'xoxe-1-refresh-original',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
    expect(calls[0]?.authorization).toBeUndefined();

    const stored = await store.findInstallation('slack', { teamId: 'T0SOON' });
    expect(stored).toMatchObject({
      botToken: 'xoxe.xoxb-renewed-1',
      refreshToken: 'xoxe-1-refresh-renewed-1',
    });
    const expiresIn = new Date(stored?.tokenExpiresAt ?? 0).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(11 * 3_600_000);
    const atRest = JSON.stringify(await store.models.Installation.findById('slack:T0SOON').lean());
    expect(atRest).not.toContain('xoxe');

    expect(await source.botTokenFor({ teamId: 'T0SOON' })).toBe('xoxe.xoxb-renewed-1');
    expect(calls).toHaveLength(1);
  });

  it('a stored expired token is renewed before it is used', async () => {
    await installRotating('T0EXPIRED', -3_600_000);
    expect(await tokenSource().botTokenFor({ teamId: 'T0EXPIRED' })).toBe('xoxe.xoxb-renewed-1');
    expect(calls).toHaveLength(1);
    expect((await store.findInstallation('slack', { teamId: 'T0EXPIRED' }))?.botToken).toBe(
      'xoxe.xoxb-renewed-1',
    );
  });

  it('concurrent calls for one workspace share a single renewal', async () => {
    await installRotating('T0BUSY', 30_000);
    answer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return {
        ok: true,
        access_token: 'xoxe.xoxb-renewed-once',
        refresh_token: 'xoxe-1-refresh-once',
        expires_in: 43_200,
      };
    };
    const source = tokenSource();
    const tokens = await Promise.all(
      Array.from({ length: 5 }, () => source.botTokenFor({ teamId: 'T0BUSY' })),
    );
    expect(tokens).toEqual(Array(5).fill('xoxe.xoxb-renewed-once'));
    expect(calls).toHaveLength(1);
  });

  it('when another process renewed first and Slack refuses the old refresh token, the stored token is used', async () => {
    await installRotating('T0RACE', 30_000);
    // The other process renews while this one's request is on its way; Slack then refuses the old refresh token.
    answer = async (call) => {
      if (call.body.refresh_token !== 'xoxe-1-refresh-original') return { ok: false, error: 'unexpected' };
      const seen = await otherProcess.findInstallation('slack', { teamId: 'T0RACE' });
      await otherProcess.renewInstallationToken('slack:T0RACE', seen?.tokenExpiresAt, {
        botToken: 'xoxe.xoxb-renewed-elsewhere',
        refreshToken: 'xoxe-1-refresh-elsewhere',
        tokenExpiresAt: new Date(Date.now() + 43_200_000),
      });
      return { ok: false, error: 'invalid_refresh_token' };
    };
    expect(await tokenSource().botTokenFor({ teamId: 'T0RACE' })).toBe('xoxe.xoxb-renewed-elsewhere');
    expect(calls).toHaveLength(1);
  });

  it('says to reinstall when Slack refuses the refresh token and nothing newer is stored', async () => {
    await installRotating('T0REVOKED', -60_000);
    answer = async () => ({ ok: false, error: 'invalid_refresh_token' });
    const failure = await tokenSource()
      .botTokenFor({ teamId: 'T0REVOKED' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeckhandError);
    expect((failure as DeckhandError).userMessage).toMatch(/reinstall Deckhand through \/slack\/install/);
    expect((failure as DeckhandError).userMessage).not.toContain('xoxe');
  });

  it('says to try again, without the tokens, when Slack fails to renew', async () => {
    await installRotating('T0DOWN', -60_000);
    answer = async () => ({ ok: false, error: 'internal_error' });
    await expect(tokenSource().botTokenFor({ teamId: 'T0DOWN' })).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
      retryable: true,
      userMessage: expect.stringMatching(
        /^Slack did not renew Deckhand's token for workspace T0DOWN; try again/,
      ),
    });
    expect((await store.findInstallation('slack', { teamId: 'T0DOWN' }))?.refreshToken).toBe(
      'xoxe-1-refresh-original',
    );
  });

  it('renews as configured: SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_API_URL', async () => {
    await installRotating('T0CONFIGURED', 60_000);
    const config = loadConfig({
      SLACK_SIGNING_SECRET: 'rotation-signing-secret',
      SLACK_CLIENT_ID: CLIENT.clientId,
      SLACK_CLIENT_SECRET: CLIENT.clientSecret,
    });
    const source = slackTokenSourceFromConfig({
      config,
      installations: store,
      logger,
      env: { SLACK_API_URL: apiUrl },
    });
    expect(await source.botTokenFor({ teamId: 'T0CONFIGURED' })).toBe('xoxe.xoxb-renewed-1');
    expect(calls[0]?.body).toMatchObject({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret });
  });

  it('uses a token that does not rotate as stored, without calling Slack', async () => {
    await store.saveInstallation({ platform: 'slack', teamId: 'T0PLAIN', botToken: 'xoxb-forever' });
    expect(await tokenSource().botTokenFor({ teamId: 'T0PLAIN' })).toBe('xoxb-forever');
    expect(calls).toHaveLength(0);
  });

  it('serves a workspace without an installation with SLACK_BOT_TOKEN, and says how to install without one', async () => {
    const withFallback = createSlackTokenSource({
      installations: store,
      botToken: 'xoxb-single',
      ...CLIENT,
      apiUrl,
    });
    expect(await withFallback.botTokenFor({ teamId: 'T0NOBODY' })).toBe('xoxb-single');
    await expect(tokenSource().botTokenFor({ teamId: 'T0NOBODY' })).rejects.toMatchObject({
      code: 'CONFIG_MISSING',
      userMessage: expect.stringMatching(
        /not installed in Slack workspace T0NOBODY.*\/slack\/install.*SLACK_BOT_TOKEN/,
      ),
    });
  });
});
