import { mkdirSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen } from '../../../src/bots/index.js';
import { createLogger, loadConfig } from '../../../src/core/index.js';
import { jobsDashboardRouter } from '../../../src/scheduler/index.js';
import type { Store } from '../../../src/store/index.js';
import { chromiumSkipReason, hasChromium, launchChromium } from '../../support/chromium.js';
import { dropTestStore, openTestStore } from '../../support/store.js';

const TOKEN = 'admin-test-token-0123456789';
const SCREENSHOT = resolve(import.meta.dirname, '../../../test-results/admin.png');
const source = (workspaceId: string) => ({ platform: 'slack' as const, workspaceId, channelId: 'C1' });

let store: Store;
const servers: Server[] = [];

async function serve(env: Record<string, string>, options: { jobs?: boolean } = {}): Promise<string> {
  const config = loadConfig({ ...env, PORT: '0' });
  const logger = createLogger({ level: 'silent', pretty: false });
  const { app } = createHttpApp({
    config,
    store,
    pipeline: createPipeline(store),
    logger,
    ...(options.jobs ? { jobsDashboard: jobsDashboardRouter(store) } : {}),
  });
  const server = await listen(app, 0, '127.0.0.1');
  servers.push(server);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

async function seed(): Promise<void> {
  // Tasks in every state, in two workspaces.
  for (let i = 0; i < 6; i++) await store.enqueueTask({ kind: 'event', source: source('TACME') });
  for (let i = 0; i < 3; i++) await store.enqueueTask({ kind: 'event', source: source('TBETA') });
  for (let i = 0; i < 4; i++) {
    const task = await store.claimNextTask('seed-worker', 60_000);
    if (!task) throw new Error('nothing to claim');
    if (i < 2) await store.completeTask(task.id, 'seed-worker', { reply: 'ok' });
    else if (i === 2)
      await store.failTask(
        task.id,
        'seed-worker',
        { code: 'SANDBOX_FAILED', message: 'exit 1' },
        { retryable: false },
      );
  }
  const run = await store.startRun({
    image: 'deckhand-sandbox:latest',
    command: ['python', 'main.py'],
    limits: { cpus: 1, memoryMb: 512, pids: 256, timeoutSeconds: 120, network: 'none' },
  });
  await store.finishRun(run, {
    status: 'succeeded',
    stdout: '1\n',
    stderr: '',
    truncated: false,
    exitCode: 0,
    durationMs: 180,
  });
  const slow = await store.startRun({
    image: 'deckhand-sandbox:latest',
    command: ['bash', 'main.sh'],
    limits: { cpus: 1, memoryMb: 512, pids: 256, timeoutSeconds: 120, network: 'none' },
  });
  await store.finishRun(slow, {
    status: 'timeout',
    stdout: '',
    stderr: '',
    truncated: false,
    exitCode: null,
    durationMs: 120_000,
  });
  await store.saveSchedule({
    name: 'weekly digest',
    platform: 'slack',
    workspaceId: 'TACME',
    channelId: 'C-digests',
    cron: '0 9 * * MON',
    timezone: 'Europe/Berlin',
    repos: ['acme/api'],
    enabled: true,
  });
  for (const [workspaceId, cost] of [
    ['TACME', 0.42],
    ['TBETA', 0.07],
  ] as const) {
    const conversation = await store.upsertConversation({
      platform: 'slack',
      workspaceId,
      channelId: 'C1',
      threadId: '1.1',
    });
    await store.appendMessage(conversation.id, {
      role: 'assistant',
      text: 'an answer',
      model: 'anthropic:claude-sonnet-4-5',
      tokensIn: 1200,
      tokensOut: 300,
      costUsd: cost,
    });
  }
}

beforeAll(async () => {
  store = await openTestStore();
  await seed();
});
afterAll(async () => {
  for (const server of servers) server.close();
  await dropTestStore(store);
});

describe('the admin page', () => {
  it('is off with a 503 naming DECKHAND_ADMIN_TOKEN when the token is not set', async () => {
    const base = await serve({});
    const res = await fetch(`${base}/admin`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('DECKHAND_ADMIN_TOKEN');
  });

  it('refuses a wrong token with 401 and shows nothing from the store', async () => {
    const base = await serve({ DECKHAND_ADMIN_TOKEN: TOKEN });
    const bearer = await fetch(`${base}/admin/api/summary`, { headers: { authorization: 'Bearer wrong' } });
    expect(bearer.status).toBe(401);
    const form = await fetch(`${base}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=wrong',
      redirect: 'manual',
    });
    expect(form.status).toBe(401);
    const page = await fetch(`${base}/admin`, { headers: { cookie: 'deckhand_admin=forged' } });
    expect(page.status).toBe(401);
    expect(await page.text()).not.toContain('TACME');
  });

  it('answers the right bearer token with tasks, runs, schedules and costs per workspace', async () => {
    const base = await serve({ DECKHAND_ADMIN_TOKEN: TOKEN });
    const res = await fetch(`${base}/admin/api/summary`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const view = (await res.json()) as {
      statusCounts: Record<string, number>;
      usage: { workspace: string; costUsd: number }[];
      schedules: { name: string }[];
      runs: { status: string }[];
    };
    expect(view.statusCounts).toEqual({ queued: 5, running: 1, succeeded: 2, failed: 1, cancelled: 0 });
    expect(view.usage.map((u) => [u.workspace, u.costUsd])).toEqual([
      ['slack:TACME', 0.42],
      ['slack:TBETA', 0.07],
    ]);
    expect(view.schedules.map((s) => s.name)).toEqual(['weekly digest']);
    expect(view.runs.map((r) => r.status).sort()).toEqual(['succeeded', 'timeout']);
  });

  it('serves the scheduled jobs dashboard (agendash) only behind the admin token', async () => {
    const base = await serve({ DECKHAND_ADMIN_TOKEN: TOKEN }, { jobs: true });
    const anonymous = await fetch(`${base}/admin/jobs/api`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${base}/admin/jobs/api`, { headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    const res = await fetch(`${base}/admin/jobs/api`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { jobs: unknown[]; total: number };
    expect(Array.isArray(body.jobs)).toBe(true);
    const page = await fetch(`${base}/admin/jobs/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const dashboard = await fetch(`${base}/admin`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await dashboard.text()).toContain('href="/admin/jobs/"');
  });

  it.skipIf(!hasChromium)(
    `shows an operator the dashboard with charts after signing in, in headless Chromium${chromiumSkipReason}`,
    async () => {
      const base = await serve({ DECKHAND_ADMIN_TOKEN: TOKEN });
      const browser = await launchChromium(1400);
      const context = browser.context;
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const offsite: string[] = [];
        page.on('request', (request) => {
          if (!request.url().startsWith(base)) offsite.push(request.url());
        });
        await page.goto(`${base}/admin`);
        await page.fill('#token', 'not-the-token');
        await page.click('button[type=submit]');
        await expect.poll(() => page.textContent('[role=alert]')).toContain('not right');

        await page.fill('#token', TOKEN);
        await page.click('button[type=submit]');
        await page.waitForSelector('#status-counts');
        expect(await page.textContent('[data-status=failed] b')).toBe('1');
        expect(await page.textContent('[data-status=queued] b')).toBe('5');
        // Charts are inline SVG with accessible titles; their bars carry per-value tooltips.
        const charts = await page.$$eval('svg[role=img]', (svgs) =>
          svgs.map((s) => s.getAttribute('aria-label')),
        );
        expect(charts).toEqual(
          expect.arrayContaining([
            expect.stringContaining('Tasks per day'),
            expect.stringContaining('Model spend per workspace'),
            expect.stringContaining('Outcomes of the latest sandbox runs'),
          ]),
        );
        expect(await page.locator('#activity svg rect').count()).toBeGreaterThan(0);
        const costs = await page.textContent('#costs');
        expect(costs).toContain('slack:TACME');
        expect(costs).toContain('$0.4200');
        expect(await page.textContent('#schedules')).toContain('weekly digest');
        expect(await page.textContent('#runs')).toContain('timeout');
        expect(await page.textContent('#tasks')).toContain('SANDBOX_FAILED: exit 1');
        expect(offsite).toEqual([]);

        mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
        expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

        await page.click('text=Sign out');
        await page.waitForSelector('#token');
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
