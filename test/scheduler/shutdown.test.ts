import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/index.js';
import { createScheduler } from '../../src/scheduler/index.js';
import type { Store } from '../../src/store/index.js';
import { chatDigestPoster } from '../support/digest-poster.js';
import { type DigestStandIns, startDigestStandIns } from '../support/platforms/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';

let store: Store;
let stand: DigestStandIns;

beforeAll(async () => {
  store = await openTestStore();
  stand = await startDigestStandIns();
});
afterAll(async () => {
  await stand?.close();
  await dropTestStore(store);
});

describe('stopping the scheduler', () => {
  it('finishes the digest it is posting before it stops, and claims nothing new', async () => {
    const scheduler = createScheduler({
      store,
      poster: chatDigestPoster({ slackBotToken: 'xoxb-test-token', slackApiUrl: `${stand.url}/slack` }),
      octokitFor: () => new Octokit({ baseUrl: `${stand.url}/gh` }),
      logger: createLogger({ level: 'silent', pretty: false }),
      sweepSeconds: 1,
      shutdownGraceMs: 10_000,
    });
    await scheduler.start();
    stand.delayMs = 1500;
    const dueAt = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
    const schedule = await store.createSchedule({
      name: 'slow',
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C-SLOW',
      cron: `${dueAt.getUTCSeconds()} ${dueAt.getUTCMinutes()} ${dueAt.getUTCHours()} * * *`,
      timezone: 'UTC',
      repos: [],
      enabled: true,
    });
    // Stop while the post is on its way.
    await vi.waitFor(
      async () => expect((await store.listDigestRuns({ scheduleId: schedule.id })).length).toBeGreaterThan(0),
      { timeout: 20_000, interval: 50 },
    );
    await scheduler.stop();

    const runs = await store.listDigestRuns({ scheduleId: schedule.id });
    expect(runs.map((r) => r.status)).toEqual(['posted']);
    expect(stand.posts.filter((p) => p.channel === 'C-SLOW')).toHaveLength(1);
    // Nothing is claimed after stop(), even when it comes due.
    expect(await scheduler.sweep()).toEqual({ ran: 0, posted: 0, failed: 0 });
  });
});
