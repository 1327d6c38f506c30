/**
 * Signing in to /admin: wrong tokens are throttled per address, and a browser session lives in the
 * store with an expiry, checked on every request and deleted on sign-out. The real HTTP app (or the
 * real admin router with a test clock) on loopback, against the real store.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminRouter, createHttpApp, createPipeline, listen } from '../../../src/bots/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const TOKEN = 'admin-sign-in-token-0123456789abcdef';
const logger = createLogger({ level: 'silent', pretty: false });

let store: Store;
const servers: Server[] = [];

async function started(server: Server): Promise<string> {
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The whole HTTP app, as `deckhand start` serves it. */
async function serve(token = TOKEN): Promise<string> {
  const config = loadConfig({ DECKHAND_ADMIN_TOKEN: token, PORT: '0' });
  const { app } = createHttpApp({ config, store, pipeline: createPipeline(store), logger });
  return started(await listen(app, 0, '127.0.0.1'));
}

function signIn(base: string, token: string): Promise<Response> {
  return fetch(`${base}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
}

/** Signs in and returns the `name=value` of the session cookie set. */
async function sessionCookie(base: string): Promise<string> {
  const res = await signIn(base, TOKEN);
  expect(res.status).toBe(303);
  const cookie = /^(deckhand_admin=[^;]+);/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error('no session cookie');
  return cookie;
}

function page(base: string, cookie: string, path = '/admin/api/summary'): Promise<Response> {
  return fetch(`${base}${path}`, { headers: { cookie } });
}

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  for (const server of servers) server.close();
  await dropTestStore(store);
});

describe('admin sign-in', () => {
  it('answers 429 with Retry-After after five wrong tokens a minute from one address, even to the right token', async () => {
    const base = await serve();
    for (let i = 0; i < 5; i++) expect((await signIn(base, `wrong-${i}`)).status).toBe(401);
    const sixth = await signIn(base, 'wrong-6');
    expect(sixth.status).toBe(429);
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await sixth.text()).toContain('Too many wrong tokens');
    // Blocked means blocked: the right token would otherwise tell a guesser it was right.
    expect((await signIn(base, TOKEN)).status).toBe(429);
    const bearer = await fetch(`${base}/admin/api/summary`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(429);
    expect(bearer.headers.get('retry-after')).not.toBeNull();
  });

  it('counts wrong Bearer tokens too, so the API is no way around the throttle', async () => {
    const base = await serve();
    const wrong = () => fetch(`${base}/admin/api/summary`, { headers: { authorization: 'Bearer nope' } });
    for (let i = 0; i < 5; i++) expect((await wrong()).status).toBe(401);
    expect((await wrong()).status).toBe(429);
    expect((await signIn(base, 'still-guessing')).status).toBe(429);
  });

  it('keeps a signed-in browser in until it signs out; after that the old cookie is refused', async () => {
    const base = await serve();
    const cookie = await sessionCookie(base);
    expect(cookie).not.toContain(TOKEN);
    expect((await page(base, cookie)).status).toBe(200);

    const out = await fetch(`${base}/admin/logout`, {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');

    expect((await page(base, cookie)).status).toBe(401);
    const again = await page(base, cookie, '/admin');
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('Your session has ended');
  });

  it('refuses a session whose stored expiry has passed, and forgets it', async () => {
    const base = await serve();
    const cookie = await sessionCookie(base);
    expect((await page(base, cookie)).status).toBe(200);
    // The session as it is a second after its expiry (the TTL index may not have run yet).
    await store.models.AdminSession.updateMany({}, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await page(base, cookie)).status).toBe(401);
    expect(await store.models.AdminSession.countDocuments({})).toBe(0);
  });

  it('ends a session once its configured lifetime has passed on the clock', async () => {
    let now = new Date('2025-03-01T09:00:00Z');
    const app = express();
    app.use(
      '/admin',
      createAdminRouter({ store, token: TOKEN, logger, sessionMs: 15 * 60_000, now: () => now }),
    );
    const base = await started(await listen(app, 0, '127.0.0.1'));
    const res = await signIn(base, TOKEN);
    expect(res.headers.get('set-cookie')).toContain('Max-Age=900');
    const cookie = /^(deckhand_admin=[^;]+);/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? '';
    now = new Date('2025-03-01T09:14:59Z');
    expect((await page(base, cookie)).status).toBe(200);
    now = new Date('2025-03-01T09:15:00Z');
    expect((await page(base, cookie)).status).toBe(401);
  });

  it('writes every sign-in to the audit trail, right or wrong, without the token or the session id', async () => {
    const before = new Set((await store.listAudit({ action: 'admin.sign_in' })).map((e) => e.id));
    const base = await serve();
    const wrong = 'wrong-token-that-must-not-be-kept-0123456789';
    expect((await signIn(base, wrong)).status).toBe(401);
    const cookie = await sessionCookie(base);
    const bearer = await fetch(`${base}/admin/api/summary`, {
      headers: { authorization: `Bearer ${wrong}` },
    });
    expect(bearer.status).toBe(401);
    const entries = (await store.listAudit({ action: 'admin.sign_in' })).filter((e) => !before.has(e.id));
    expect(entries.map((e) => e.outcome)).toEqual(['failed', 'succeeded', 'failed']);
    expect(entries[0]).toMatchObject({ actor: 'admin', detail: { via: 'bearer' } });
    expect(entries[2]).toMatchObject({ actor: 'admin', detail: { via: 'form' } });
    expect(entries[1]).toMatchObject({
      actor: 'admin',
      target: expect.stringMatching(/^session:[0-9a-f]{12}$/),
    });
    const written = JSON.stringify(await store.models.AuditEntry.find({}).lean());
    expect(written).not.toContain(wrong);
    expect(written).not.toContain(TOKEN);
    expect(written).not.toContain(cookie.split('=')[1]);
  });

  it('ends every session when DECKHAND_ADMIN_TOKEN rotates', async () => {
    const cookie = await sessionCookie(await serve());
    const rotated = await serve('a-new-admin-token-fedcba9876543210');
    expect((await page(rotated, cookie)).status).toBe(401);
  });
});
