/**
 * Digests may not fire more often than digests.minIntervalMinutes (issue 16): a too-frequent cadence
 * is refused with one line in chat, from the agent's tool, and at start for a digest in config, and
 * nothing is stored. Real store; the clock is fixed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import {
  assertMinInterval,
  type ConfiguredDigest,
  handleDigestCommand,
  schedulerToolPort,
  syncConfigSchedules,
} from '../../src/scheduler/index.js';
import type { Store } from '../../src/store/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const NOW = new Date('2027-03-01T08:00:00Z');
const event = { platform: 'slack' as const, workspaceId: 'T16', channelId: 'C16', userId: 'U16' };
let store: Store;

beforeAll(async () => {
  store = await openTestStore({ uri: testDatabaseUri('mininterval') });
});
afterAll(async () => {
  await dropTestStore(store);
});
afterEach(async () => {
  await store.models.Schedule.deleteMany({});
  await store.models.AuditEntry.deleteMany({});
});

const say = (args: string, minIntervalMinutes?: number) =>
  handleDigestCommand(args, {
    store,
    event,
    now: () => NOW,
    ...(minIntervalMinutes === undefined ? {} : { minIntervalMinutes }),
  });

const schedules = () => store.listSchedules({ platform: 'slack', workspaceId: 'T16' });

function configured(when: string, name = 'too-often'): ConfiguredDigest {
  return {
    name,
    platform: 'slack',
    workspaceId: 'T16',
    channelId: 'C16',
    when,
    timezone: 'UTC',
    repos: ['org/a'],
    skipWeekends: false,
  };
}

/** loadConfig with an extra YAML file, as DECKHAND_CONFIG gives it. */
function configWith(yaml: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'deckhand-min-interval-')), 'extra.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ DECKHAND_CONFIG: file });
}

describe('digest add in chat', () => {
  it('refuses `cron * * * * *` with a one-line reason and stores nothing', async () => {
    const reply = await say('add cron * * * * * UTC repos=org/a name=spam');
    expect(reply).toBe(
      'That digest would run every 1 minute; digests run at most every 60 minutes (digests.minIntervalMinutes).',
    );
    expect(await schedules()).toEqual([]);
    expect(await store.listAudit({ action: 'digest.add' })).toEqual([]);
  });

  it('refuses a seconds-field cron that fires every second', async () => {
    const reply = await say('add cron */1 * * * * * UTC name=seconds');
    expect(reply).toBe(
      'That digest would run every 1 second; digests run at most every 60 minutes (digests.minIntervalMinutes).',
    );
    expect(await schedules()).toEqual([]);
  });

  it('refuses an irregular cron whose due times are only sometimes too close', async () => {
    const reply = await say('add cron 0,30 9 * * 1-5 Europe/Berlin name=twice');
    expect(reply).toMatch(
      /^That digest would run twice within 30 minutes \(from Tue 2 Mar 09:00 GMT\+1\); digests run at most every 60 minutes \(digests\.minIntervalMinutes\)\.$/,
    );
    expect(await schedules()).toEqual([]);
  });

  it('accepts `cron 0 9 * * 1-5`, and an irregular cron whose closest due times are an hour apart', async () => {
    expect(await say('add cron 0 9 * * 1-5 UTC repos=org/a name=standup')).toMatch(
      /^Digest "standup" added: `0 9 \* \* 1-5` UTC/,
    );
    expect(await say('add cron 0 8,9 * * 1 UTC name=mondays')).toMatch(/^Digest "mondays" added/);
    expect((await schedules()).map((s) => s.name).sort()).toEqual(['mondays', 'standup']);
  });

  it('allows a 1-minute cron when digests.minIntervalMinutes is 1', async () => {
    const config = configWith('digests:\n  minIntervalMinutes: 1\n');
    expect(config.digests.minIntervalMinutes).toBe(1);
    expect(await say('add cron * * * * * UTC name=often', config.digests.minIntervalMinutes)).toMatch(
      /^Digest "often" added: `\* \* \* \* \*` UTC/,
    );
    // Still not every second.
    expect(await say('add cron * * * * * * UTC name=seconds', 1)).toMatch(/would run every 1 second/);
  });
});

describe('the agent tool and config digests', () => {
  const input = {
    name: 'agent-often',
    cron: '*/1 * * * *',
    timezone: 'UTC',
    repos: ['org/a'],
    channelId: 'C16',
    actor: { platform: 'slack', workspaceId: 'T16', userId: 'U16' },
  };

  it('refuses a 1-minute cadence from schedule_digest and stores nothing', async () => {
    const port = schedulerToolPort(store, () => NOW);
    await expect(port.scheduleDigest(input)).rejects.toThrow(
      'That digest would run every 1 minute; digests run at most every 60 minutes (digests.minIntervalMinutes).',
    );
    expect(await schedules()).toEqual([]);
    const lenient = schedulerToolPort(store, () => NOW, { minIntervalMinutes: 1 });
    await expect(lenient.scheduleDigest(input)).resolves.toMatchObject({ name: 'agent-often' });
  });

  it('reports a too-frequent configured digest by name at start and saves none', async () => {
    await expect(
      syncConfigSchedules(store, [configured('weekdays 09:00', 'fine'), configured('*/5 * * * *')], NOW),
    ).rejects.toThrow(
      'digests.schedules "too-often": That digest would run every 5 minutes; digests run at most every 60 minutes (digests.minIntervalMinutes).',
    );
    expect(await schedules()).toEqual([]);
    const saved = await syncConfigSchedules(store, [configured('*/5 * * * *')], NOW, 5);
    expect(saved.map((s) => s.cron)).toEqual(['*/5 * * * *']);
  });

  it('defaults digests.minIntervalMinutes to 60', () => {
    expect(loadConfig({}).digests.minIntervalMinutes).toBe(60);
  });
});

describe('digest run-now', () => {
  it('leaves an audit entry with the actor and workspace', async () => {
    await say('add daily 09:00 UTC name=now-one');
    expect(await say('run-now now-one')).toMatch(/is on its way/);
    const [entry] = await store.listAudit({ action: 'digest.run-now' });
    expect(entry).toMatchObject({ actor: 'slack:U16', outcome: 'succeeded', workspace: 'slack:T16' });
    expect(entry!.target).toMatch(/^schedule:/);
  });
});

describe('the interval check', () => {
  it('judges each cadence by the gaps between its real due times', () => {
    const ok = (cron: string, min = 60, timezone = 'UTC') =>
      expect(() => assertMinInterval({ cron, timezone }, min, NOW)).not.toThrow();
    const refused = (cron: string, min = 60) =>
      expect(() => assertMinInterval({ cron, timezone: 'UTC' }, min, NOW)).toThrow(/digests run at most/);
    ok('0 * * * *');
    ok('0 9 * * *', 1440, 'Europe/Berlin');
    refused('0,59 9 * * *');
    refused('0 23,0 * * *', 90);
    refused('0 0 1 * 0', 1441); // a Sunday followed by a Monday the 1st
  });
});
