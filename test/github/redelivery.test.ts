/**
 * GitHub redelivery (src/github/redelivery.ts) against the GitHub stand-in's deliveries API on
 * loopback, with the real store: which failed events are asked for again (window, guid groups, page
 * boundary), nothing asked twice within the cooldown (also by a second process), and a redelivered
 * event arriving at the real HTTP app a second time is deduped into the task it already made.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp, createPipeline, listen } from '../../src/bots/index.js';
import { createLogger, loadConfig } from '../../src/core/index.js';
import {
  appJwtClient,
  createGitHubRedelivery,
  DEFAULT_REDELIVERY_SETTINGS,
  githubRedeliveryFromConfig,
  type RedeliveryOutcome,
  redisRedeliveryMemory,
  storeRedeliveryMemory,
} from '../../src/github/index.js';
import type { Store } from '../../src/store/index.js';
import {
  answerWebhookDeliveries,
  type GitHubStandIn,
  githubStandIn,
  type WebhookDeliveries,
} from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { examplePayload, signedWebhook } from './support.js';

const SECRET = 'github-webhook-secret-for-redelivery';
const MINUTE = 60_000;
const ago = (minutes: number) => new Date(Date.now() - minutes * MINUTE);

let store: Store;
let api: GitHubStandIn;
let server: Server;
let base: string;
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const client = () =>
  appJwtClient({
    appId: '123',
    privateKey,
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });

beforeAll(async () => {
  store = await openTestStore();
  api = await githubStandIn();
  const config = loadConfig({ GITHUB_WEBHOOK_SECRET: SECRET });
  const logger = createLogger({ level: 'silent', pretty: false });
  server = await listen(
    createHttpApp({ config, store, pipeline: createPipeline(store), logger }).app,
    0,
    '127.0.0.1',
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await api?.close();
  await dropTestStore(store);
});
beforeEach(() => api.reset());

/** An issue comment mentioning the bot, with its own comment id (so its task is its own). */
function mention(): Record<string, unknown> {
  const payload = examplePayload('issue_comment', 'created') as {
    comment: { id: number; body: string };
  } & Record<string, unknown>;
  payload.comment.id = Math.floor(Math.random() * 1e9);
  payload.comment.body = '@deckhand help';
  return payload;
}

/**
 * A: failed 10 min ago. B: failed, then its redelivery succeeded. C: failed 3 h ago (past the
 * window). D: timed out 90 min ago, on the second page behind 150 successes. E: only a failed
 * redelivery is recent; its first delivery is past the window. 100 old successes follow, on pages
 * the job must not fetch.
 */
function scenario(deliveries: WebhookDeliveries) {
  const a = deliveries.add({ guid: 'guid-a', statusCode: 503, deliveredAt: ago(10) });
  deliveries.add({ guid: 'guid-b', statusCode: 503, deliveredAt: ago(20) });
  deliveries.add({ guid: 'guid-b', statusCode: 202, deliveredAt: ago(15), redelivery: true });
  deliveries.add({ guid: 'guid-c', statusCode: 503, deliveredAt: ago(180) });
  for (let i = 0; i < 150; i++)
    deliveries.add({ guid: `ok-${i}`, statusCode: 202, deliveredAt: ago(30 + i * 0.2) });
  const d = deliveries.add({ guid: 'guid-d', statusCode: 0, deliveredAt: ago(90) });
  deliveries.add({ guid: 'guid-e', statusCode: 503, deliveredAt: ago(150) });
  deliveries.add({ guid: 'guid-e', statusCode: 503, deliveredAt: ago(60), redelivery: true });
  for (let i = 0; i < 100; i++)
    deliveries.add({ guid: `old-${i}`, statusCode: 202, deliveredAt: ago(200 + i) });
  return { a, d };
}

describe('GitHub redelivery', () => {
  it('asks again for exactly the failed events first delivered within the window, across a page boundary', async () => {
    const deliveries = answerWebhookDeliveries(api);
    const { a, d } = scenario(deliveries);
    const outcomes: RedeliveryOutcome[] = [];
    const job = createGitHubRedelivery({
      client: client(),
      memory: storeRedeliveryMemory(store),
      windowMs: 120 * MINUTE,
      cooldownMs: 15 * MINUTE,
      onRedelivery: (outcome) => outcomes.push(outcome),
    });

    const report = await job.run();

    // Oldest first: D (90 min ago, page 2), then A.
    expect(deliveries.asked).toEqual([d, a]);
    expect(outcomes).toEqual(['requested', 'requested']);
    expect(report).toMatchObject({ failedEvents: 2, requested: 2, failed: 0, coolingDown: 0, pages: 2 });
    // 100 a page, the second page by GitHub's cursor, and no page past the window.
    expect(deliveries.pages.map((p) => [p.query.get('per_page'), p.query.get('cursor')])).toEqual([
      ['100', null],
      ['100', '100'],
    ]);
    // As the App: a JWT, not an installation token.
    expect(String(deliveries.pages[0]?.headers.authorization)).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
    expect(api.unmatched).toEqual([]);
  });

  it('asks nothing again within the cooldown, from this process or another, and again after it', async () => {
    const deliveries = answerWebhookDeliveries(api);
    scenario(deliveries);
    const settings = { client: client(), windowMs: 120 * MINUTE, cooldownMs: 15 * MINUTE };
    const first = createGitHubRedelivery({ ...settings, memory: storeRedeliveryMemory(store) });
    // The store remembers the guids asked for in the first test's run of the same names: start clean.
    await store.db.collection('githubRedeliveries').deleteMany({});
    expect((await first.run()).requested).toBe(2);

    const again = await first.run();
    const otherProcess = createGitHubRedelivery({ ...settings, memory: storeRedeliveryMemory(store) });
    const fromElsewhere = await otherProcess.run();

    expect(deliveries.asked).toHaveLength(2);
    expect(again).toMatchObject({ requested: 0, coolingDown: 2 });
    expect(fromElsewhere).toMatchObject({ requested: 0, coolingDown: 2 });

    const later = createGitHubRedelivery({
      ...settings,
      memory: storeRedeliveryMemory(store),
      now: () => new Date(Date.now() + 16 * MINUTE),
    });
    expect((await later.run()).requested).toBe(2);
    expect(deliveries.asked).toHaveLength(4);
  });

  it('remembers asked events in Redis too, with the cooldown as expiry', async () => {
    const url = process.env.REDIS_URL;
    if (!url)
      throw new Error('REDIS_URL is not set: run the suite with `npm test` (it starts the services).');
    const redis = new Redis(url, { maxRetriesPerRequest: 2 });
    try {
      const memory = redisRedeliveryMemory(redis, `test:redelivery:${randomUUID()}:`);
      const now = new Date();
      expect(await memory.claim('guid-r', 200, now)).toBe(true);
      expect(await memory.claim('guid-r', 200, now)).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      expect(await memory.claim('guid-r', 200, now)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('brings a lost event in, and a redelivered event already taken in dedupes into the same task', async () => {
    const deliveries = answerWebhookDeliveries(api, {
      target: { url: `${base}/github/webhooks`, secret: SECRET },
    });
    // Taken in, but GitHub saw no answer in time (a timeout counts as failed there).
    const taken = mention();
    const takenGuid = randomUUID();
    const first = await signedWebhook(base, SECRET, 'issue_comment', taken, takenGuid);
    expect(first.status).toBe(202);
    const { task } = (await first.json()) as { task: string; duplicate: boolean };
    deliveries.add({ guid: takenGuid, payload: taken, statusCode: 0, deliveredAt: ago(3) });
    // Refused with 503 while the store was down: no task yet.
    const lostGuid = randomUUID();
    deliveries.add({ guid: lostGuid, payload: mention(), statusCode: 503, deliveredAt: ago(2) });

    const report = await createGitHubRedelivery({
      client: client(),
      memory: storeRedeliveryMemory(store),
    }).run();
    await deliveries.settled();

    expect(report).toMatchObject({ requested: 2, failed: 0 });
    const again = deliveries.deliveries.filter((x) => x.redelivery);
    expect(again.map((x) => [x.guid, x.status_code])).toEqual([
      [takenGuid, 202],
      [lostGuid, 202],
    ]);
    // The one already taken in answers as the same task, a duplicate; the lost one makes its task.
    const answers = Object.fromEntries(deliveries.answers.map((x) => [x.guid, x.body]));
    expect(answers[takenGuid]).toEqual({ task, duplicate: true });
    const lostTask = (answers[lostGuid] as { task: string; duplicate: boolean }).task;
    expect(answers[lostGuid]).toEqual({ task: lostTask, duplicate: false });
    expect(await store.getTask(lostTask)).toMatchObject({ status: 'queued' });

    // The next run sees both succeeded and asks nothing.
    const next = await createGitHubRedelivery({
      client: client(),
      memory: storeRedeliveryMemory(store),
    }).run();
    expect(next).toMatchObject({ failedEvents: 0, requested: 0 });
  });

  it('counts a refused redelivery as failed and says why the list was refused', async () => {
    api.route('GET', '/app/hook/deliveries', 200, [
      {
        id: 7,
        guid: 'guid-refused',
        delivered_at: ago(1).toISOString(),
        redelivery: false,
        status_code: 500,
      },
    ]);
    api.route('POST', '/app/hook/deliveries/7/attempts', 422, { message: 'Validation Failed' });
    const outcomes: RedeliveryOutcome[] = [];
    await store.db.collection('githubRedeliveries').deleteMany({});
    const job = createGitHubRedelivery({
      client: client(),
      memory: storeRedeliveryMemory(store),
      onRedelivery: (outcome) => outcomes.push(outcome),
    });
    expect(await job.run()).toMatchObject({ requested: 0, failed: 1 });
    expect(outcomes).toEqual(['failed']);

    api.route('GET', '/app/hook/deliveries', 403, { message: 'Resource not accessible by integration' });
    await expect(job.run()).rejects.toMatchObject({
      code: 'NOT_CONFIGURED',
      message: expect.stringMatching(/refused to list the App's webhook deliveries \(HTTP 403\)/),
    });
  });

  it('with a personal token, watches the configured repository hooks only, through the same API', async () => {
    const hook = answerWebhookDeliveries(api, { base: '/repos/octo/app/hooks/31' });
    const id = hook.add({ guid: 'guid-hook', statusCode: 503, deliveredAt: ago(5) });
    await store.db.collection('githubRedeliveries').deleteMany({});
    const config = loadConfig({
      GITHUB_TOKEN: 'ghp_redeliveryTestToken000000000000000000',
      GITHUB_API_URL: api.url,
    });

    const none = githubRedeliveryFromConfig(config, DEFAULT_REDELIVERY_SETTINGS, { store });
    const jobs = githubRedeliveryFromConfig(
      config,
      { ...DEFAULT_REDELIVERY_SETTINGS, repositoryHooks: ['octo/app:31'] },
      { store },
    );
    const off = githubRedeliveryFromConfig(
      loadConfig({ GITHUB_APP_ID: '123', GITHUB_PRIVATE_KEY: privateKey }),
      { ...DEFAULT_REDELIVERY_SETTINGS, enabled: false },
      { store },
    );

    expect(none).toEqual([]);
    expect(off).toEqual([]);
    expect(jobs.map((job) => job.source)).toEqual([
      { kind: 'repository', owner: 'octo', repo: 'app', hookId: 31 },
    ]);
    expect(await jobs[0]?.run()).toMatchObject({ requested: 1 });
    expect(hook.asked).toEqual([id]);
    expect(String(hook.pages[0]?.headers.authorization)).toMatch(/ghp_redeliveryTestToken/);
  });
});
