import { Octokit } from '@octokit/rest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/index.js';
import {
  createDigestRunner,
  type DigestRunner,
  handleDigestCommand,
  type Summarise,
} from '../../src/scheduler/index.js';
import type { Platform, Store } from '../../src/store/index.js';
import { chatDigestPoster } from '../support/digest-poster.js';
import { type DigestStandIns, startDigestStandIns } from '../support/platforms/index.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const logger = createLogger({ level: 'silent', pretty: false });
let store: Store;
let stand: DigestStandIns;
let channelSeq = 0;
const uri = testDatabaseUri('digests');

beforeAll(async () => {
  store = await openTestStore({ uri });
  stand = await startDigestStandIns();
});
afterAll(async () => {
  await stand?.close();
  await dropTestStore(store);
});
afterEach(async () => {
  // Each test sweeps every schedule in the database: start the next one from none.
  await store.models.Schedule.deleteMany({});
  await store.models.DigestRun.deleteMany({});
  stand.posts.length = 0;
  stand.hang.clear();
});

/** A clock the test moves by hand. */
function clockAt(iso: string) {
  const clock = { now: new Date(iso), set: (at: string) => (clock.now = new Date(at)) };
  return clock;
}

function runner(
  clock: { now: Date },
  options: { maxAttempts?: number; retryBaseMs?: number; summarise?: Summarise } = {},
): DigestRunner {
  return createDigestRunner({
    store,
    poster: chatDigestPoster({
      slackBotToken: 'xoxb-test-token',
      discordBotToken: 'discord-test-token',
      slackApiUrl: `${stand.url}/slack`,
      discordApiUrl: `${stand.url}/discord`,
      retry: { tries: 2, baseDelayMs: 1 },
    }),
    octokitFor: () => new Octokit({ baseUrl: `${stand.url}/gh` }),
    now: () => clock.now,
    logger,
    maxAttempts: options.maxAttempts ?? 3,
    retryBaseMs: options.retryBaseMs ?? 60_000,
    summarise: options.summarise,
  });
}

function chat(platform: Platform = 'slack') {
  const channelId = `C${++channelSeq}`;
  const event = { platform, workspaceId: 'T1', channelId, userId: 'U1' };
  return {
    channelId,
    say: (args: string, clock: { now: Date }) =>
      handleDigestCommand(args, { store, event, now: () => clock.now }),
  };
}

const postsIn = (channel: string) => stand.posts.filter((p) => p.channel === channel);

/** Moves the clock through `times`, sweeping at each; returns how many digests were posted at each. */
async function sweepAt(r: DigestRunner, clock: ReturnType<typeof clockAt>, channel: string, times: string[]) {
  const counts: number[] = [];
  for (const at of times) {
    clock.set(at);
    const before = postsIn(channel).length;
    await r.sweep();
    counts.push(postsIn(channel).length - before);
  }
  return counts;
}

describe('daylight-saving changes', () => {
  it('posts a 09:00 Europe/Berlin digest at 08:00 UTC in winter and 07:00 UTC in summer', async () => {
    const clock = clockAt('2027-03-26T12:00:00Z');
    const { channelId, say } = chat();
    expect(await say('add daily 09:00 Europe/Berlin repos=org/a name=berlin', clock)).toMatch(
      /Digest "berlin" added/,
    );
    const r = runner(clock);
    const counts = await sweepAt(r, clock, channelId, [
      '2027-03-27T07:59:59Z', // Saturday 08:59 CET
      '2027-03-27T08:00:00Z', // Saturday 09:00 CET
      '2027-03-28T06:59:59Z', // Sunday 08:59 CEST (clocks went forward at 01:00 UTC)
      '2027-03-28T07:00:00Z', // Sunday 09:00 CEST
      '2027-03-28T08:00:00Z', // 10:00 CEST: nothing more today
      '2027-10-30T07:00:00Z', // Saturday 09:00 CEST (catch-up of the latest only)
      '2027-10-31T07:00:00Z', // Sunday 08:00 CET (clocks went back)
      '2027-10-31T08:00:00Z', // Sunday 09:00 CET
    ]);
    expect(counts).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('posts a 09:00 America/New_York digest at 14:00 UTC in winter and 13:00 UTC in summer', async () => {
    const clock = clockAt('2027-03-12T20:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 America/New_York repos=org/a name=nyc', clock);
    const r = runner(clock);
    const counts = await sweepAt(r, clock, channelId, [
      '2027-03-13T13:59:00Z', // Saturday 08:59 EST
      '2027-03-13T14:00:00Z', // Saturday 09:00 EST
      '2027-03-14T12:59:00Z', // Sunday 08:59 EDT
      '2027-03-14T13:00:00Z', // Sunday 09:00 EDT
      '2027-11-06T13:00:00Z', // Saturday 09:00 EDT
      '2027-11-07T13:00:00Z', // Sunday 08:00 EST
      '2027-11-07T14:00:00Z', // Sunday 09:00 EST
    ]);
    expect(counts).toEqual([0, 1, 0, 1, 1, 0, 1]);
  });

  it('posts a 02:30 digest once on the night the clocks go back, when 02:30 happens twice', async () => {
    const clock = clockAt('2027-10-30T12:00:00Z');
    const { channelId, say } = chat();
    await say('add cron 30 2 * * * Europe/Berlin name=night', clock);
    const r = runner(clock);
    const counts = await sweepAt(r, clock, channelId, [
      '2027-10-31T00:30:00Z', // 02:30 CEST, the first one
      '2027-10-31T01:30:00Z', // 02:30 CET, the same wall-clock time again
      '2027-11-01T01:30:00Z', // Monday 02:30 CET
    ]);
    expect(counts).toEqual([1, 0, 1]);
    const runs = await store.listDigestRuns({ status: 'posted' });
    const mine = runs.filter((run) => run.dueAt.toISOString().startsWith('2027-10-31'));
    expect(mine.map((run) => run.dueAt.toISOString())).toContain('2027-10-31T00:30:00.000Z');
  });

  it('skips Saturdays and Sundays when asked to', async () => {
    const clock = clockAt('2027-01-07T12:00:00Z'); // Thursday
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC skip-weekends name=workdays', clock);
    const r = runner(clock);
    const counts = await sweepAt(r, clock, channelId, [
      '2027-01-08T09:00:00Z', // Friday
      '2027-01-09T09:00:00Z', // Saturday
      '2027-01-10T09:00:00Z', // Sunday
      '2027-01-11T09:00:00Z', // Monday
    ]);
    expect(counts).toEqual([1, 0, 0, 1]);
  });
});

describe('pause, resume and catch-up', () => {
  it('does not post a paused digest, and resuming does not post what came due while paused', async () => {
    const clock = clockAt('2027-02-01T08:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC name=paused-one', clock);
    expect(await say('pause paused-one', clock)).toMatch(/paused/);
    const r = runner(clock);
    expect(await sweepAt(r, clock, channelId, ['2027-02-01T09:00:00Z', '2027-02-02T09:00:00Z'])).toEqual([
      0, 0,
    ]);
    expect(await say('list', clock)).toMatch(/paused-one.*paused/);
    expect(await say('resume paused-one', clock)).toMatch(/resumed\. Next: Wed 3 Feb 09:00/);
    expect(await sweepAt(r, clock, channelId, ['2027-02-02T09:30:00Z', '2027-02-03T09:00:00Z'])).toEqual([
      0, 1,
    ]);
  });

  it('after three days down, posts one catch-up digest, not three', async () => {
    const clock = clockAt('2027-04-01T10:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC repos=org/a name=catch-up', clock);
    const r = runner(clock);
    expect(await sweepAt(r, clock, channelId, ['2027-04-04T12:00:00Z', '2027-04-04T12:00:05Z'])).toEqual([
      1, 0,
    ]);
    const schedule = await store.findScheduleByName('slack', 'T1', 'catch-up');
    const runs = await store.listDigestRuns({ scheduleId: schedule!.id });
    expect(runs.map((run) => [run.dueAt.toISOString(), run.status])).toEqual([
      ['2027-04-04T09:00:00.000Z', 'posted'],
    ]);
  });
});

describe('two schedulers sweeping the same minute', () => {
  it('posts each of 20 digests exactly once', async () => {
    const clock = clockAt('2027-05-03T08:00:00Z');
    const channels: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { channelId, say } = chat();
      channels.push(channelId);
      await say(`add daily 09:00 UTC name=pair-${i}`, clock);
    }
    // A second, independent connection to the same database, as another process would have.
    const other = await openTestStore({ uri });
    try {
      clock.set('2027-05-03T09:00:00Z');
      const a = runner(clock);
      const b = createDigestRunner({
        store: other,
        poster: chatDigestPoster({ slackBotToken: 'xoxb-test-token', slackApiUrl: `${stand.url}/slack-b` }),
        now: () => clock.now,
        logger,
        concurrency: 3,
      });
      const [ra, rb] = await Promise.all([a.sweep(), b.sweep()]);
      expect(ra.ran + rb.ran).toBe(20);
      for (const channel of channels) expect(postsIn(channel)).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe('failed posts', () => {
  it('retries a failed post later and posts the digest once it goes through', async () => {
    const clock = clockAt('2027-06-01T08:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC name=flaky', clock);
    const r = runner(clock, { retryBaseMs: 60_000 });
    stand.failNext(2, { status: 500, body: { ok: false, error: 'internal_error' } });
    expect(await sweepAt(r, clock, channelId, ['2027-06-01T09:00:00Z', '2027-06-01T09:00:30Z'])).toEqual([
      0, 0,
    ]);
    expect(await sweepAt(r, clock, channelId, ['2027-06-01T09:01:00Z', '2027-06-01T09:05:00Z'])).toEqual([
      1, 0,
    ]);
    expect(postsIn(channelId)[0]?.body.blocks).toBeDefined();
  });

  it('reports in the channel when the last attempt fails too', async () => {
    const clock = clockAt('2027-06-02T08:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC name=doomed', clock);
    const r = runner(clock, { maxAttempts: 2, retryBaseMs: 1000 });
    stand.failNext(4, { status: 503, body: 'unavailable' });
    await sweepAt(r, clock, channelId, [
      '2027-06-02T09:00:00Z',
      '2027-06-02T09:00:01Z',
      '2027-06-02T09:10:00Z',
    ]);
    const posted = postsIn(channelId);
    expect(posted).toHaveLength(1);
    expect(String(posted[0]?.body.text)).toMatch(
      /could not post the digest "doomed" due .*\(2 attempts\): Slack chat\.postMessage failed/,
    );
    expect(posted[0]?.body.blocks).toBeUndefined();
  });
});

describe('digest content', () => {
  it('posts GitHub activity as Slack blocks: merged, waiting for review with age, issues, failing checks, contributors', async () => {
    const clock = clockAt('2027-07-01T08:00:00Z');
    stand.github.set('acme/rocket', {
      closed: [
        {
          number: 12,
          title: 'Faster boosters',
          user: { login: 'alice' },
          html_url: 'https://github.com/acme/rocket/pull/12',
          merged_at: '2027-07-01T10:00:00Z',
          updated_at: '2027-07-01T10:00:00Z',
        },
      ],
      open: [
        {
          number: 15,
          title: 'New fins',
          draft: false,
          user: { login: 'bob' },
          html_url: 'https://github.com/acme/rocket/pull/15',
          created_at: '2027-06-28T09:00:00Z',
          requested_reviewers: [{ login: 'carol' }],
          requested_teams: [],
        },
      ],
      issues: [
        {
          number: 20,
          title: 'Wobbly launch',
          state: 'closed',
          user: { login: 'dave' },
          html_url: 'https://github.com/acme/rocket/issues/20',
          created_at: '2027-07-01T11:00:00Z',
          closed_at: '2027-07-01T12:00:00Z',
        },
      ],
      'check-runs': {
        total_count: 1,
        check_runs: [
          { name: 'build', conclusion: 'failure', html_url: 'https://github.com/acme/rocket/runs/1' },
        ],
      },
      commits: [{ author: { login: 'erin' }, commit: { author: { name: 'Erin' } } }],
    });
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC repos=acme/rocket name=content', clock);
    const r = runner(clock);
    await sweepAt(r, clock, channelId, ['2027-07-02T09:00:00Z']);
    const [post] = postsIn(channelId);
    const blocks = JSON.stringify(post?.body.blocks);
    expect(blocks).toContain('Merged (1)');
    expect(blocks).toContain('#12 Faster boosters');
    expect(blocks).toMatch(/Waiting for review \(1\).*#15 New fins.*\(4 d old, carol\)/);
    expect(blocks).toContain('Issues opened (1)');
    expect(blocks).toContain('Issues closed (1)');
    expect(blocks).toContain('Failing on main');
    expect(blocks).toMatch(/Contributors: alice, erin/);
  });

  it('posts to Discord as an embed with a nonce, so a retried post cannot double', async () => {
    const clock = clockAt('2027-07-05T08:00:00Z');
    const { channelId, say } = chat('discord');
    await say('add weekly mon 09:00 UTC repos=org/gone name=weekly-discord', clock);
    stand.github.set('*missing*', {});
    try {
      await sweepAt(runner(clock), clock, channelId, ['2027-07-05T09:00:00Z']);
    } finally {
      stand.github.delete('*missing*');
    }
    const [post] = postsIn(channelId);
    expect(post?.platform).toBe('discord');
    expect(post?.body).toMatchObject({ enforce_nonce: true, nonce: expect.any(String) });
    const embed = (post?.body.embeds as { title: string; fields: { value: string }[] }[])[0];
    expect(embed?.title).toContain('weekly-discord');
    expect(embed?.fields[0]?.value).toMatch(
      /cannot read org\/gone \(HTTP 404.*is the GitHub App installed there\?/,
    );
  });
});

describe('model summaries', () => {
  it('puts the model summary on top when a model is configured, and posts the template when it fails', async () => {
    const clock = clockAt('2027-07-10T08:00:00Z');
    const { channelId, say } = chat();
    await say('add daily 09:00 UTC repos=org/a name=summarised', clock);
    const seen: string[] = [];
    const summarise: Summarise = async (facts) => {
      seen.push(
        `${facts.name} ${facts.since.toISOString()} ${facts.until.toISOString()} ${facts.repos[0]?.repo}`,
      );
      if (seen.length > 1) throw new Error('model is down');
      return 'Quiet day: nothing merged, nothing waiting.';
    };
    const r = runner(clock, { summarise });
    await sweepAt(r, clock, channelId, ['2027-07-11T09:00:00Z', '2027-07-12T09:00:00Z']);
    expect(seen[0]).toBe('summarised 2027-07-10T09:00:00.000Z 2027-07-11T09:00:00.000Z org/a');
    // The second window starts where the first digest ended.
    expect(seen[1]).toBe('summarised 2027-07-11T09:00:00.000Z 2027-07-12T09:00:00.000Z org/a');
    const [first, second] = postsIn(channelId).map((p) => JSON.stringify(p.body.blocks));
    expect(first).toContain('Quiet day: nothing merged, nothing waiting.');
    expect(second).not.toContain('Quiet day');
    expect(second).toContain('No activity.');
  });
});

describe('digest commands in chat', () => {
  it('refuses a bad time zone or cron expression and stores nothing', async () => {
    const clock = clockAt('2027-08-01T08:00:00Z');
    const { say } = chat();
    expect(await say('add daily 09:00 Mars/Olympus name=bad-zone', clock)).toMatch(
      /not a cron expression|not a time zone/,
    );
    expect(await say('add daily 9am UTC name=bad-time', clock)).toMatch(/"9am" is not a time of day/);
    expect(await say('add cron 61 9 * * * UTC name=bad-cron', clock)).toMatch(/not a valid cron expression/);
    expect(await say('add daily 09:00 UTC repos=not-a-repo', clock)).toMatch(
      /"not-a-repo" is not a repository/,
    );
    expect(await say('add daily 09:00 tz=Mars/Olympus', clock)).toMatch(/"Mars\/Olympus" is not a time zone/);
    const names = (await store.listSchedules()).map((s) => s.name);
    expect(names.filter((n) => n.startsWith('bad'))).toEqual([]);
  });

  it('adds, lists, runs now, and removes a digest', async () => {
    const clock = clockAt('2027-08-02T08:00:00Z');
    const { channelId, say } = chat();
    expect(await say('add weekdays 17:30 Europe/Berlin repos=org/a,org/b', clock)).toMatch(
      /Digest "weekdays-1730" added: `30 17 \* \* 1-5` Europe\/Berlin, for org\/a, org\/b, posted in this channel\. First one: Mon 2 Aug 17:30/,
    );
    expect(await say('add daily 09:00 UTC name=weekdays-1730', clock)).toMatch(/already exists/);
    expect(await say('list', clock)).toMatch(
      /weekdays-1730.*org\/a, org\/b, this channel: next Mon 2 Aug 17:30/,
    );
    expect(await say('run-now weekdays-1730', clock)).toMatch(/on its way/);
    const r = runner(clock);
    expect(await sweepAt(r, clock, channelId, ['2027-08-02T08:00:01Z'])).toEqual([1]);
    const schedule = await store.findScheduleByName('slack', 'T1', 'weekdays-1730');
    expect(schedule?.lastRunAt).toBeNull(); // a manual digest does not move the next one's window
    expect(await say('remove', clock)).toBe('Digest "weekdays-1730" removed.');
    expect(await say('remove weekdays-1730', clock)).toMatch(/No digest named "weekdays-1730"/);
    expect(await say('frobnicate', clock)).toMatch(/I do not know `digest frobnicate`/);
  });

  it('refuses digests on GitHub, which has no channel to post them in', async () => {
    const clock = clockAt('2027-08-03T08:00:00Z');
    const { say } = chat('github');
    expect(await say('add daily 09:00 UTC', clock)).toMatch(/posted to Slack or Discord/);
  });
});
