/**
 * The audit trail on /admin/audit as an operator sees it in headless Chromium: seeded entries newest
 * first, filters narrowing them, chat text shown as text, bad filters answered readably, and
 * nothing shown without a session.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen } from '../../../src/bots/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/store/index.js';
import { chromiumSkipReason, hasChromium, launchChromium } from '../../support/chromium.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const TOKEN = 'audit-page-test-token-0123456789';
const XSS = '<script>window.__pwned = 1</script> please run it';

let store: Store;
let base: string;
let server: Server;

async function serve(): Promise<string> {
  const config = loadConfig({ DECKHAND_ADMIN_TOKEN: TOKEN, PORT: '0' });
  const logger = createLogger({ level: 'silent', pretty: false });
  const { app } = createHttpApp({ config, store, pipeline: createPipeline(store), logger });
  server = await listen(app, 0, '127.0.0.1');
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

/** Written one after another, so the last one written is the newest. */
async function seed(): Promise<void> {
  await store.recordAudit({
    actor: 'slack:UALICE',
    action: 'code.run',
    target: 'task:first',
    outcome: 'succeeded',
    workspace: 'slack:TA',
  });
  await store.recordAudit({
    actor: 'slack:UBOB',
    action: 'code.push',
    target: 'acme/beta-repo',
    outcome: 'denied',
    workspace: 'slack:TB',
  });
  await store.recordAudit({
    actor: 'slack:UALICE',
    action: 'chat.message',
    target: XSS,
    outcome: 'allowed',
    workspace: 'slack:TA',
  });
}

beforeAll(async () => {
  store = await openTestStore();
  await seed();
  base = await serve();
});
afterAll(async () => {
  server?.close();
  await dropTestStore(store);
});

describe('the audit page under /admin', () => {
  it('shows the sign-in form with 401, and no entries, without a session', async () => {
    const res = await fetch(`${base}/admin/audit`);
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('name="token"');
    expect(html).not.toContain('UALICE');
    const forged = await fetch(`${base}/admin/audit?workspace=slack:TA`, {
      headers: { cookie: 'deckhand_admin=forged' },
    });
    expect(forged.status).toBe(401);
    expect(await forged.text()).not.toContain('task:first');
  });

  it('answers a bad filter with a 400 page saying what is wrong, not a 500', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const since = await fetch(`${base}/admin/audit?since=3y`, { headers: auth });
    expect(since.status).toBe(400);
    expect(await since.text()).toContain('Since must be 1h, 24h or 7d');
    const workspace = await fetch(`${base}/admin/audit?workspace=%3Cb%3Enope`, { headers: auth });
    expect(workspace.status).toBe(400);
    const html = await workspace.text();
    expect(html).toContain('Workspace must look like &lt;platform&gt;:&lt;workspaceId&gt;');
    expect(html).toContain('value="&lt;b&gt;nope"');
    const twice = await fetch(`${base}/admin/audit?actor=a&actor=b`, { headers: auth });
    expect(twice.status).toBe(400);
    expect(await twice.text()).toContain('Actor must be given once');
  });

  it.skipIf(!hasChromium)(
    `lists entries newest first, filters by workspace and action, and shows chat text as text, in headless Chromium${chromiumSkipReason}`,
    async () => {
      const browser = await launchChromium(1000);
      const context = browser.context;
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const offsite: string[] = [];
        page.on('request', (request) => {
          if (!request.url().startsWith(base)) offsite.push(request.url());
        });
        await page.goto(`${base}/admin`);
        await page.fill('#token', TOKEN);
        await page.click('button[type=submit]');
        await page.waitForSelector('#status-counts');
        await page.click('a[href="/admin/audit"]');
        await page.waitForSelector('#audit-table');

        const rows = async (): Promise<string[][]> => {
          const trs = page.locator('#audit-table tbody tr');
          const cells: string[][] = [];
          for (let i = 0; i < (await trs.count()); i++)
            cells.push(await trs.nth(i).locator('td').allTextContents());
          return cells;
        };
        const all = await rows();
        // Newest first; the sign-in itself is in the trail too, as the newest entry.
        const actions = all.map((cells) => cells[3]);
        expect(actions).toEqual(['admin.sign_in', 'chat.message', 'code.push', 'code.run']);
        expect(all[1]?.slice(1, 6)).toEqual(['slack:UALICE', 'slack:TA', 'chat.message', XSS, 'allowed']);
        // The <script> in the target is text in a cell: no script element, and it never ran.
        expect(await page.locator('#audit-table script').count()).toBe(0);
        expect(await page.evaluate('window.__pwned')).toBeUndefined();

        await page.fill('#audit-workspace', 'slack:TA');
        await page.click('#audit-filters button[type=submit]');
        await page.waitForURL(/workspace=slack%3ATA/);
        const onlyTa = await rows();
        expect(onlyTa.map((cells) => cells[2])).toEqual(['slack:TA', 'slack:TA']);
        expect(onlyTa.map((cells) => cells[4])).toEqual([XSS, 'task:first']);
        expect(await page.textContent('#audit')).not.toContain('acme/beta-repo');
        // The form keeps what was typed.
        expect(await page.inputValue('#audit-workspace')).toBe('slack:TA');

        await page.fill('#audit-workspace', '');
        await page.fill('#audit-action', 'code.');
        await page.selectOption('#audit-since', '1h');
        await page.click('#audit-filters button[type=submit]');
        await page.waitForURL(/action=code\./);
        expect((await rows()).map((cells) => cells[3])).toEqual(['code.push', 'code.run']);

        await page.fill('#audit-actor', 'slack:NOBODY');
        await page.click('#audit-filters button[type=submit]');
        await page.waitForSelector('#audit-empty');
        expect(offsite).toEqual([]);

        await page.click('text=Sign out');
        await page.waitForSelector('#token');
        await page.goto(`${base}/admin/audit`);
        await page.waitForSelector('#token');
        expect(await page.locator('#audit-table').count()).toBe(0);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
