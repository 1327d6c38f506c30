import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { countByChannel, type DigestStandIns, startDigestStandIns } from '../support/platforms/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const script = resolve(import.meta.dirname, 'support/scheduler-process.ts');
let store: Store;
let uri: string;
let stand: DigestStandIns;
const children: ChildProcess[] = [];

beforeAll(async () => {
  uri = testDatabaseUri('sched');
  store = await openTestStore({ uri });
  stand = await startDigestStandIns();
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await store.models.Schedule.deleteMany({});
  await store.models.DigestRun.deleteMany({});
});
afterAll(async () => {
  await stand?.close();
  await dropTestStore(store);
});

async function startScheduler(name: string, leaseMs = 6000): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, uri, stand.url, name, String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((ready, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`scheduler ${name} exited with ${code}`)));
  });
  return child;
}

/** How long the schedulers get to post or settle, polled every 100 ms. */
const WAIT = { timeout: 60_000, interval: 100 };

/** 50 digests, each in its own channel, all due at the same second a few seconds from now. */
async function fiftyDueSoon(tag: string): Promise<{ channels: string[]; dueAt: Date }> {
  const dueAt = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
  const cron = `${dueAt.getUTCSeconds()} ${dueAt.getUTCMinutes()} ${dueAt.getUTCHours()} * * *`;
  const channels: string[] = [];
  for (let i = 0; i < 50; i++) {
    const channelId = `${tag}-${i}`;
    channels.push(channelId);
    await store.createSchedule({
      name: `${tag}-${i}`,
      platform: 'slack',
      workspaceId: 'T1',
      channelId,
      cron,
      timezone: 'UTC',
      repos: ['org/a'],
      enabled: true,
    });
  }
  return { channels, dueAt };
}

/** Waits until every run is settled and the schedulers have swept again after the last post. */
async function settled(channels: string[]): Promise<void> {
  const mine = () => stand.posts.filter((p) => channels.includes(p.channel));
  await vi
    .waitFor(() => expect(new Set(mine().map((p) => p.channel)).size).toBe(channels.length), WAIT)
    .catch(async (e) => {
      console.log(
        'DEBUG',
        JSON.stringify(await store.models.DigestRun.find({ status: { $ne: 'posted' } }).lean()),
        Date.now(),
      );
      console.log('JOBS', JSON.stringify(await store.db.collection('agendaJobs').find().toArray()));
      throw e;
    });
  await vi.waitFor(async () => {
    expect(await store.models.DigestRun.countDocuments({ status: { $in: ['queued', 'running'] } })).toBe(0);
  }, WAIT);
  const last = Math.max(...mine().map((p) => p.at));
  // Both processes sweep every second: after three more seconds a double would have shown up.
  await sleep(Math.max(0, last + 3000 - Date.now()) + 100);
}

describe('two scheduler processes and 50 digests due at the same second', () => {
  it('posts each digest exactly once', { timeout: 120_000 }, async () => {
    await Promise.all([startScheduler('alpha'), startScheduler('beta')]);
    const { channels } = await fiftyDueSoon('same');
    await settled(channels);

    const counts = countByChannel(stand.posts.filter((p) => channels.includes(p.channel)));
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(50);
    expect(await store.models.DigestRun.countDocuments({ status: 'posted' })).toBe(50);
    const prefixes = new Set(stand.posts.filter((p) => channels.includes(p.channel)).map((p) => p.prefix));
    console.log(
      `posts by process: ${[...prefixes].map((p) => `${p}=${stand.posts.filter((x) => x.prefix === p && channels.includes(x.channel)).length}`).join(', ')}`,
    );
  });

  it('loses and doubles nothing when one process is killed in the middle of posting', {
    timeout: 120_000,
  }, async () => {
    const [doomed] = await Promise.all([startScheduler('doomed'), startScheduler('survivor')]);
    // The doomed process's posts reach the stand-in and are never answered: it dies mid-window.
    stand.hang.add('doomed');
    const { channels } = await fiftyDueSoon('kill');
    await vi.waitFor(() => expect(stand.held.some((p) => channels.includes(p.channel))).toBe(true), WAIT);
    doomed!.kill('SIGKILL');
    const held = stand.held.filter((p) => channels.includes(p.channel)).map((p) => p.channel);

    await settled(channels);
    const counts = countByChannel(stand.posts.filter((p) => channels.includes(p.channel)));
    expect(counts.size).toBe(50);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    // What the dead process held was taken over by the survivor as a later attempt.
    for (const channel of held) {
      expect(stand.posts.find((p) => p.channel === channel)?.prefix).toBe('survivor');
    }
    const takenOver = await store.models.DigestRun.countDocuments({
      status: 'posted',
      attempt: { $gte: 2 },
      by: 'survivor',
    });
    expect(takenOver).toBeGreaterThanOrEqual(new Set(held).size);
  });
});
