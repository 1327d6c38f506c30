/**
 * /metrics leaks nothing and cannot be blown up: label values are route templates (never the
 * request's path, which routing matches case-insensitively, nor 404 paths), and with
 * DECKHAND_METRICS_TOKEN set the page answers only `Authorization: Bearer <token>`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createMetrics, createPipeline, listen } from '../../src/bots/index.js';
import { createLogger, loadConfig, MAX_BODY_BYTES } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { signedSlackMention } from '../support/ingress.js';
import { dropTestStore, openTestStore } from '../support/store.js';

const SECRET = 'metrics-privacy-secret';
const TOKEN = 'metrics-privacy-token-0123456789';
let store: Store;
const servers: Server[] = [];
let open: string;
let closed: string;

const quiet = createLogger({
  level: 'silent',
  pretty: false,
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

async function serve(env: Record<string, string>): Promise<string> {
  const config = loadConfig({ SLACK_SIGNING_SECRET: SECRET, PORT: '0', ...env });
  const { app } = createHttpApp({
    config,
    store,
    pipeline: createPipeline(store),
    logger: quiet,
    metrics: createMetrics(),
  });
  const server = await listen(app, 0, '127.0.0.1');
  servers.push(server);
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

beforeAll(async () => {
  store = await openTestStore();
  open = await serve({});
  closed = await serve({ DECKHAND_METRICS_TOKEN: TOKEN });
});
afterAll(async () => {
  for (const server of servers) server.close();
  await dropTestStore(store);
});

/** Every value of label `name` in a Prometheus text page. */
function labelValues(text: string, name: string): Set<string> {
  return new Set([...text.matchAll(new RegExp(`[{,]${name}="([^"]*)"`, 'g'))].map((m) => m[1] as string));
}

describe('metric labels', () => {
  it('name the route template, never the raw path of a case variant, a 404 or a 413', async () => {
    expect((await fetch(`${open}/Slack/Events`, signedSlackMention('EvPriv1', SECRET, 'TPRIV'))).status).toBe(
      200,
    );
    const wrong = signedSlackMention('EvPriv2', 'wrong-secret', 'TPRIV');
    expect((await fetch(`${open}/SLACK/EVENTS`, wrong)).status).toBe(401);
    expect((await fetch(`${open}/sLaCk/eVeNtS`, wrong)).status).toBe(401);
    const tooLarge = await fetch(`${open}/Slack/Events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(MAX_BODY_BYTES + 1),
    });
    expect(tooLarge.status).toBe(413);
    for (const n of [1, 2, 3]) {
      expect((await fetch(`${open}/x/${n}-${Math.random()}`)).status).toBe(404);
      expect((await fetch(`${open}/x/${n}`, { method: 'POST', body: '{}' })).status).toBe(404);
    }

    const text = await (await fetch(`${open}/metrics`)).text();
    const known = ['/slack/events', '/github/webhooks', '/discord/interactions', 'other'];
    for (const value of labelValues(text, 'route')) expect(known).toContain(value);
    for (const value of labelValues(text, 'platform'))
      expect(['slack', 'github', 'discord', 'unknown']).toContain(value);
    expect(text).not.toMatch(/Slack\/Events|SLACK\/EVENTS|sLaCk|\/x\//);
    expect(text).toContain('deckhand_ingress_requests_total{route="/slack/events",status="200"} 1');
    expect(text).toContain('deckhand_ingress_requests_total{route="/slack/events",status="401"} 2');
    expect(text).toContain('deckhand_ingress_requests_total{route="/slack/events",status="413"} 1');
    expect(text).toContain('deckhand_events_total{platform="slack",outcome="rejected"} 3');
  });
});

describe('/metrics with DECKHAND_METRICS_TOKEN', () => {
  it('stays open when no token is configured', async () => {
    const res = await fetch(`${open}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('deckhand_ingress_requests_total');
  });

  it('answers 401 without the bearer token, or with a wrong one, and shows nothing', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer ' },
    ]) {
      const res = await fetch(`${closed}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('deckhand_');
    }
  });

  it('serves the page to `Authorization: Bearer <token>`', async () => {
    const res = await fetch(`${closed}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('deckhand_ingress_requests_total');
  });

  it('takes the token from DECKHAND_METRICS_TOKEN_FILE like every other secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deckhand-metrics-token-'));
    try {
      writeFileSync(join(dir, 'token'), `${TOKEN}-file\n`);
      const base = await serve({ DECKHAND_METRICS_TOKEN_FILE: join(dir, 'token') });
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}-file` } });
      expect(res.status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
