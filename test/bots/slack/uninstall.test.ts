/**
 * Uninstalling the Slack app (or revoking its bot tokens) forgets that workspace's installation:
 * its dead token is never tried again, and the event is not a task. Signed requests go to the real
 * HTTP app on loopback with the real store; an unsigned one changes nothing.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen, signSlackRequest } from '../../../src/bots/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const SECRET = 'uninstall-test-signing-secret';
const config = loadConfig({
  SLACK_SIGNING_SECRET: SECRET,
  SLACK_CLIENT_ID: '111.222',
  SLACK_CLIENT_SECRET: 'uninstall-client-secret',
  SLACK_STATE_SECRET: 'uninstall-state-secret',
});
let store: Store;
let server: Server;
let url: string;

function post(body: Record<string, unknown>, signed = true) {
  const text = JSON.stringify(body);
  const ts = String(Math.floor(Date.now() / 1000));
  return fetch(`${url}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signed ? signSlackRequest(SECRET, ts, text) : 'v0=00',
    },
    body: text,
  });
}

function uninstall(teamId: string, event: Record<string, unknown>) {
  return { type: 'event_callback', team_id: teamId, event_id: `Ev-${teamId}`, event_time: 1, event };
}

async function install(teamId: string) {
  await store.saveInstallation({ platform: 'slack', teamId, botToken: `xoxb-${teamId}-token` });
}

beforeAll(async () => {
  store = await openTestStore({ secretKey: 'uninstall-test-key-not-for-real-use' });
  const logger = createLogger({ level: 'silent', pretty: false });
  const { app } = createHttpApp({ config, store, pipeline: createPipeline(store), logger });
  server = await listen(app, 0, '127.0.0.1');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await dropTestStore(store);
});

describe('a Slack workspace that uninstalls Deckhand', () => {
  it('is forgotten on app_uninstalled, and the event is not a task', async () => {
    await install('T-GONE');
    await install('T-STAYS');
    const response = await post(uninstall('T-GONE', { type: 'app_uninstalled' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ignored: 'the app was uninstalled' });
    expect(await store.findInstallation('slack', { teamId: 'T-GONE' })).toBeNull();
    expect(await store.findInstallation('slack', { teamId: 'T-STAYS' })).not.toBeNull();
    expect(await store.countTasks({})).toBe(0);
  });

  it('is forgotten when its bot tokens are revoked, but not when only user tokens are', async () => {
    await install('T-REVOKED');
    await install('T-USER-ONLY');
    await post(uninstall('T-USER-ONLY', { type: 'tokens_revoked', tokens: { oauth: ['U1'] } }));
    await post(uninstall('T-REVOKED', { type: 'tokens_revoked', tokens: { bot: ['B1'] } }));
    expect(await store.findInstallation('slack', { teamId: 'T-REVOKED' })).toBeNull();
    expect(await store.findInstallation('slack', { teamId: 'T-USER-ONLY' })).not.toBeNull();
  });

  it('is not forgotten by an unsigned request', async () => {
    await install('T-FORGED');
    const response = await post(uninstall('T-FORGED', { type: 'app_uninstalled' }), false);
    expect(response.status).toBe(401);
    expect(await store.findInstallation('slack', { teamId: 'T-FORGED' })).not.toBeNull();
  });
});
