import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen, signSlackRequest } from '../../src/bots/index.js';
import { createLogger, loadConfig } from '../../src/core/index.js';
import { signGitHubPayload } from '../../src/github/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const examples = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json'),
    'utf8',
  ),
) as { name: string; examples: unknown[] }[];

const SLACK_SECRET = 'slack-signing-secret-for-tests';
const GITHUB_SECRET = 'github-webhook-secret-for-tests';
const discordKeys = generateKeyPairSync('ed25519');
const discordPublicHex = (discordKeys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
  .subarray(12)
  .toString('hex');

let store: Store;
let server: Server;
let base: string;
let bare: Server;
let bareBase: string;

beforeAll(async () => {
  store = await openTestStore();
  const logger = createLogger({ level: 'silent', pretty: false });
  const config = loadConfig({
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    DISCORD_PUBLIC_KEY: discordPublicHex,
  });
  server = await listen(
    createHttpApp({ config, store, pipeline: createPipeline(store), logger }).app,
    0,
    '127.0.0.1',
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const unconfigured = createHttpApp({
    config: loadConfig({}),
    store,
    pipeline: createPipeline(store),
    logger,
  });
  bare = await listen(unconfigured.app, 0, '127.0.0.1');
  bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await new Promise((r) => bare?.close(r));
  await dropTestStore(store);
});

function slackRequest(
  body: string,
  opts: { ts?: number; secret?: string; retry?: string; type?: string } = {},
) {
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  return fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': opts.type ?? 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(opts.secret ?? SLACK_SECRET, ts, body),
      ...(opts.retry ? { 'x-slack-retry-num': opts.retry, 'x-slack-retry-reason': 'http_timeout' } : {}),
    },
    body,
  });
}

const mention = (eventId: string) =>
  JSON.stringify({
    type: 'event_callback',
    team_id: 'T1',
    api_app_id: 'A1',
    event_id: eventId,
    event_time: 1700000000,
    authorizations: [{ user_id: 'UBOT', team_id: 'T1', is_bot: true }],
    event: {
      type: 'app_mention',
      user: 'U1',
      text: '<@UBOT> help',
      ts: '1700000000.000100',
      channel: 'C1',
      event_ts: '1700000000.000100',
    },
  });

describe('one HTTP port for Slack, GitHub and Discord', () => {
  it('answers the Slack URL verification challenge', async () => {
    const res = await slackRequest(
      JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'abc123' });
  });

  it('makes one task from the same Slack event_id delivered three times as Slack retries', async () => {
    const body = mention('Ev-retry-1');
    const answers = [
      await slackRequest(body),
      await slackRequest(body, { retry: '1' }),
      await slackRequest(body, { retry: '2' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await store.models.Task.countDocuments({ 'source.eventId': 'Ev-retry-1' })).toBe(1);
  });

  it('refuses a Slack request older than 5 minutes with 401 and creates nothing', async () => {
    const res = await slackRequest(mention('Ev-stale'), { ts: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(res.status).toBe(401);
    expect(await store.models.Task.countDocuments({ 'source.eventId': 'Ev-stale' })).toBe(0);
  });

  it('refuses a Slack request signed with the wrong secret with 401', async () => {
    const res = await slackRequest(mention('Ev-badsig'), { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(await store.models.Delivery.countDocuments({ key: 'Ev-badsig' })).toBe(0);
  });

  it('answers 400 for a correctly signed but malformed body', async () => {
    expect((await slackRequest('{not json')).status).toBe(400);
  });

  it('answers 413 for a body over 1 MB before doing anything else', async () => {
    const res = await slackRequest(JSON.stringify({ type: 'event_callback', pad: 'x'.repeat(1_100_000) }));
    expect(res.status).toBe(413);
  });

  it('answers 503 naming the missing variable when a route is not configured', async () => {
    const res = await fetch(`${bareBase}/github/webhooks`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toContain('GITHUB_WEBHOOK_SECRET');
  });

  it('answers a Discord PING with PONG and refuses a wrong signature', async () => {
    const body = JSON.stringify({ id: '1', type: 1, application_id: 'A', token: 't', version: 1 });
    const ts = String(Math.floor(Date.now() / 1000));
    const good = sign(null, Buffer.from(ts + body), discordKeys.privateKey).toString('hex');
    const headers = { 'content-type': 'application/json', 'x-signature-timestamp': ts };
    const ok = await fetch(`${base}/discord/interactions`, {
      method: 'POST',
      headers: { ...headers, 'x-signature-ed25519': good },
      body,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ type: 1 });
    const bad = await fetch(`${base}/discord/interactions`, {
      method: 'POST',
      headers: { ...headers, 'x-signature-ed25519': '00'.repeat(64) },
      body,
    });
    expect(bad.status).toBe(401);
  });

  it('accepts every @octokit/webhooks-examples payload when signed, and refuses each mis-signed one creating nothing', async () => {
    const before = await store.models.Delivery.countDocuments({ platform: 'github' });
    let n = 0;
    const failures: string[] = [];
    for (const group of examples) {
      for (const payload of group.examples) {
        const body = JSON.stringify(payload);
        const headers = {
          'content-type': 'application/json',
          'x-github-event': group.name,
          'x-github-delivery': `bad-${n}`,
        };
        const bad = await fetch(`${base}/github/webhooks`, {
          method: 'POST',
          headers: { ...headers, 'x-hub-signature-256': signGitHubPayload('wrong-secret', body) },
          body,
        });
        if (bad.status !== 401) failures.push(`${group.name} mis-signed -> ${bad.status}`);
        const good = await fetch(`${base}/github/webhooks`, {
          method: 'POST',
          headers: {
            ...headers,
            'x-github-delivery': `good-${n}`,
            'x-hub-signature-256': signGitHubPayload(GITHUB_SECRET, body),
          },
          body,
        });
        if (good.status < 200 || good.status > 299)
          failures.push(`${group.name} -> ${good.status} ${await good.text()}`);
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
    expect(failures).toEqual([]);
    const deliveries = await store.models.Delivery.find({ platform: 'github' }).lean();
    expect(deliveries.filter((d) => d.key.startsWith('bad-'))).toHaveLength(0);
    expect(deliveries.length - before).toBeLessThanOrEqual(n);
  });

  it('serves health, readiness and metrics on the same port', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { store: 'ok' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('deckhand_ingress_requests_total');
  });
});
