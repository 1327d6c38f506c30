import { hostname } from 'node:os';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatScheduleRows, listScheduleRows } from '../../src/cli/schedules.js';
import { createLogger } from '../../src/core/index.js';
import {
  agendashRouter,
  createScheduler,
  JOBS_COLLECTION,
  type Scheduler,
  schedulerToolPort,
  syncConfigSchedules,
} from '../../src/scheduler/index.js';
import type { Store, TaskRecord } from '../../src/store/index.js';
import { chatDigestPoster } from '../support/digest-poster.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const logger = createLogger({ level: 'silent', pretty: false });
const uri = testDatabaseUri('agenda');
let store: Store;
let other: Store;
const schedulers: Scheduler[] = [];
const gaveUp: TaskRecord[] = [];
let reaped = 0;

function scheduler(on: Store): Scheduler {
  const created = createScheduler({
    store: on,
    poster: chatDigestPoster({ logger }),
    logger,
    sweepSeconds: 1,
    reapContainers: async () => {
      reaped++;
      return 0;
    },
    onTaskGaveUp: async (task) => {
      gaveUp.push(task);
    },
    shutdownGraceMs: 5000,
  });
  schedulers.push(created);
  return created;
}

/** How long a job gets to run once asked, polled every 100 ms. */
const WAIT = { timeout: 20_000, interval: 100 };

beforeAll(async () => {
  store = await openTestStore({ uri });
  other = await openTestStore({ uri });
  await Promise.all([scheduler(store).start(), scheduler(other).start()]);
});
afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
  await other?.close();
  await dropTestStore(store);
});

describe('the scheduler on Agenda', () => {
  it('keeps one copy of each periodic job when two processes start together', async () => {
    const jobs = await store.db.collection(JOBS_COLLECTION).find({}).toArray();
    const names = jobs.map((j) => String(j.name)).sort();
    expect(names).toEqual(
      ['digests:sweep', `sandbox:reap:${hostname()}`, 'store:purge', 'tasks:requeue-expired'].sort(),
    );
  });

  it('purges old deliveries and finished digest runs when the purge job runs', async () => {
    await store.models.Delivery.create({
      platform: 'slack',
      key: 'old-delivery',
      receivedAt: new Date('2020-01-01'),
    });
    await store.models.Delivery.create({ platform: 'slack', key: 'fresh-delivery' });
    const schedule = await store.createSchedule({
      name: 'purge-me',
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      cron: '0 9 * * *',
      timezone: 'UTC',
      repos: [],
      enabled: false,
    });
    const run = await store.claimDigestRun({
      scheduleId: schedule.id,
      dueAt: new Date('2020-01-01T09:00:00Z'),
      attempt: 1,
      by: 'test',
      status: 'running',
    });
    await store.models.DigestRun.updateOne(
      { _id: run!.id },
      { $set: { status: 'posted', at: new Date('2020-01-01') } },
    );

    await schedulers[0]!.agenda.now('store:purge');
    await vi.waitFor(async () => {
      expect(await store.models.Delivery.countDocuments({ key: 'old-delivery' })).toBe(0);
    }, WAIT);
    await vi.waitFor(async () => {
      expect(await store.models.DigestRun.countDocuments({ scheduleId: schedule.id })).toBe(0);
    }, WAIT);
    expect(await store.models.Delivery.countDocuments({ key: 'fresh-delivery' })).toBe(1);
  });

  it('gives up on a task whose worker died on its last attempt, and says so', async () => {
    const task = await store.enqueueTask({
      kind: 'scheduler.test',
      source: { platform: 'terminal', channelId: 'local' },
      maxAttempts: 1,
    });
    await store.claimNextTask('dead-worker', 1, ['scheduler.test']);
    await new Promise((r) => setTimeout(r, 20));
    await schedulers[1]!.agenda.now('tasks:requeue-expired');
    const told = await vi.waitFor(() => {
      const found = gaveUp.find((t) => t.id === task.id);
      if (!found) throw new Error(`no give-up reported for task ${task.id} yet`);
      return found;
    }, WAIT);
    expect(told?.lastError?.message).toMatch(/dead-worker stopped answering; gave up after 1 attempts/);
    expect((await store.getTask(task.id))?.status).toBe('failed');
  });

  it('reaps orphaned sandbox containers through a job named for this host', async () => {
    await schedulers[0]!.agenda.now(`sandbox:reap:${hostname()}`);
    await vi.waitFor(() => expect(reaped).toBeGreaterThan(0), WAIT);
  });

  it('serves agendash as an express router for the integrator to mount behind admin auth', async () => {
    const app = express();
    app.use('/admin/agendash', agendashRouter(schedulers[0]!));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const response = await fetch(`http://127.0.0.1:${port}/admin/agendash/api?limit=50`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { overview?: { displayName?: string; name?: string }[] };
      expect(JSON.stringify(body)).toContain('digests:sweep');
    } finally {
      server.close();
    }
  });
});

describe('deckhand schedules, config digests and the agent tool port', () => {
  it('lists each schedule with its next run time, and the periodic jobs', async () => {
    await syncConfigSchedules(
      store,
      [
        {
          name: 'standup',
          platform: 'slack',
          workspaceId: 'T9',
          channelId: 'C9',
          when: 'weekdays 09:00',
          timezone: 'Europe/Berlin',
          repos: ['org/a'],
          skipWeekends: false,
        },
      ],
      new Date('2027-01-04T06:00:00Z'),
    );
    const rows = await listScheduleRows(store, new Date('2027-01-04T06:00:00Z'));
    const standup = rows.schedules.find((s) => s.name === 'standup');
    expect(standup).toMatchObject({
      where: 'slack:T9/C9',
      cron: '0 9 * * 1-5',
      state: 'active',
      nextRunAt: '2027-01-04T08:00:00.000Z',
    });
    const text = formatScheduleRows(rows);
    expect(text).toMatch(
      /standup\s+slack:T9\/C9 {2}0 9 \* \* 1-5 Europe\/Berlin {2}next 2027-01-04T08:00:00.000Z \(Mon 4 Jan 09:00/,
    );
    expect(text).toMatch(/digests:sweep\s+next 20/);
  });

  it('keeps a config digest paused from chat paused when config is synced again', async () => {
    const digest = {
      name: 'weekly',
      platform: 'discord' as const,
      workspaceId: 'G1',
      channelId: 'D1',
      when: 'weekly fri 16:00',
      timezone: 'UTC',
      repos: [],
      skipWeekends: false,
    };
    const [saved] = await syncConfigSchedules(store, [digest]);
    await store.setScheduleEnabled(saved!.id, false);
    const [again] = await syncConfigSchedules(store, [digest]);
    expect(again).toMatchObject({ id: saved!.id, enabled: false, cron: '0 16 * * 5' });
    await expect(syncConfigSchedules(store, [{ ...digest, when: 'fortnightly' }])).rejects.toThrow(
      /digests.schedules "weekly": "fortnightly" is not a cron expression/,
    );
  });

  it('lets the agent schedule and list digests for its workspace', async () => {
    const port = schedulerToolPort(store, () => new Date('2027-03-01T00:00:00Z'));
    const saved = await port.scheduleDigest({
      name: 'agent-digest',
      cron: '30 8 * * 1',
      timezone: 'America/New_York',
      repos: ['org/a'],
      channelId: 'C77',
      actor: { platform: 'slack', workspaceId: 'T77', userId: 'U1' },
    });
    expect(saved).toEqual({
      name: 'agent-digest',
      cron: '30 8 * * 1',
      timezone: 'America/New_York',
      channelId: 'C77',
      nextRunAt: '2027-03-01T13:30:00.000Z',
    });
    expect(await port.listSchedules({ platform: 'slack', workspaceId: 'T77' })).toHaveLength(1);
    await expect(
      port.scheduleDigest({
        ...saved,
        repos: [],
        cron: 'every day',
        actor: { platform: 'slack', workspaceId: 'T77', userId: 'U1' },
      }),
    ).rejects.toThrow(/not a cron expression/);
  });
});
