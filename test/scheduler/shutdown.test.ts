import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/index.js';
import { createDigestPoster, createScheduler } from '../../src/scheduler/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { type StandIns, startStandIns } from './support/stand-ins.js';

let store: Store;
let stand: StandIns;

beforeAll(async () => {
  store = await openTestStore();
  stand = await startStandIns();
});
afterAll(async () => {
  await stand?.close();
  await dropTestStore(store);
});

async function until<T>(probe: () => Promise<T | undefined | null | false> | T, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stopping the scheduler', () => {
  it('finishes the digest it is posting before it stops, and claims nothing new', async () => {
    const scheduler = createScheduler({
      store,
      poster: createDigestPoster({ slackBotToken: 'xoxb-test-token', slackApiUrl: `${stand.url}/slack` }),
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
    await until(async () => (await store.listDigestRuns({ scheduleId: schedule.id })).length > 0);
    await scheduler.stop();

    const runs = await store.listDigestRuns({ scheduleId: schedule.id });
    expect(runs.map((r) => r.status)).toEqual(['posted']);
    expect(stand.posts.filter((p) => p.channel === 'C-SLOW')).toHaveLength(1);
    // Nothing is claimed after stop(), even when it comes due.
    expect(await scheduler.sweep()).toEqual({ ran: 0, posted: 0, failed: 0 });
  });
});
