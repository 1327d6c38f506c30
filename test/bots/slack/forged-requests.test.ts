/**
 * An attacker without Slack's signing secret, against the real HTTP app and store: the old Bolt
 * endpoint signed with its public placeholder, /slack/events with no secret configured or in Socket
 * Mode, and a signed slash command whose response_url points somewhere other than Slack.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen } from '../../../src/bots/index.js';
import { signSlackRequest } from '../../../src/bots/slack/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';
import { type Harness, postSlack, startHarness, until } from './harness.js';

const logger = createLogger({ level: 'silent', pretty: false });
const PLACEHOLDER = 'not-configured';

function slashCommand(triggerId: string, responseUrl: string, text = 'run bash\n```\nid\n```'): string {
  return new URLSearchParams({
    command: '/deckhand',
    text,
    response_url: responseUrl,
    trigger_id: triggerId,
    user_id: 'U0ANYONE',
    user_name: 'anyone',
    team_id: 'T0CHOSEN',
    channel_id: 'C0CHOSEN',
  }).toString();
}

function signedWith(secret: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': signSlackRequest(secret, ts, body),
  };
}

async function serve(env: Record<string, string>, store: Store): Promise<{ base: string; server: Server }> {
  const config = loadConfig(env);
  const server = await listen(
    createHttpApp({ config, store, pipeline: createPipeline(store), logger }).app,
    0,
    '127.0.0.1',
  );
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('Slack routes without a real signing secret', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await dropTestStore(store);
  });

  it('refuses a slash command signed with the old placeholder on every Slack path, recording nothing', async () => {
    const { base, server } = await serve({ SLACK_BOT_TOKEN: 'xoxb-socket-mode-only' }, store);
    try {
      const body = slashCommand('trig-forged-1', 'http://127.0.0.1:9/steal');
      const bolt = await fetch(`${base}/slack/bolt`, {
        method: 'POST',
        headers: signedWith(PLACEHOLDER, body),
        body,
      });
      expect(bolt.status).toBe(404);
      const events = await fetch(`${base}/slack/events`, {
        method: 'POST',
        headers: signedWith(PLACEHOLDER, body),
        body,
      });
      expect(events.status).toBe(503);
      expect(((await events.json()) as { message: string }).message).toContain('SLACK_SIGNING_SECRET');
      expect(await store.models.Task.countDocuments({})).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('accepts nothing on /slack/events in Socket Mode, even with a valid signature', async () => {
    const secret = 'socket-mode-signing-secret';
    const { base, server } = await serve(
      { SLACK_APP_TOKEN: 'xapp-1-socket', SLACK_SIGNING_SECRET: secret, SLACK_BOT_TOKEN: 'xoxb-x' },
      store,
    );
    try {
      const body = slashCommand('trig-socket-1', 'https://hooks.slack.com/commands/T0/1/x', 'help');
      const res = await fetch(`${base}/slack/events`, {
        method: 'POST',
        headers: signedWith(secret, body),
        body,
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { message: string }).message).toContain('Socket Mode');
      expect(await store.models.Task.countDocuments({})).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a signed slash command whose response_url is not Slack’s', () => {
  let harness: Harness;
  let attacker: Server;
  const stolen: string[] = [];
  let attackerUrl = '';

  beforeAll(async () => {
    attacker = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        stolen.push(`${req.method} ${req.url} ${body}`);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/hook`;
    harness = await startHarness((call) =>
      call.path === '/api/chat.postMessage'
        ? { status: 200, body: { ok: true, ts: '1736942500.000001' } }
        : { status: 200, body: { ok: true } },
    );
  }, 180_000);
  afterAll(async () => {
    await harness?.close();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  it('is answered in the channel through Slack’s API, and the other address is never called', async () => {
    const body = slashCommand('trig-ssrf-1', attackerUrl, 'help');
    const res = await postSlack(harness.base, body, { contentType: 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    await until(() =>
      harness.api.calls.some(
        (call) => call.path === '/api/chat.postMessage' && call.body.channel === 'C0CHOSEN',
      ),
    );
    const post = harness.api.calls.find((call) => call.path === '/api/chat.postMessage');
    expect(String(post?.body.text)).toContain('Deckhand commands');
    expect(stolen).toEqual([]);
  });
});
