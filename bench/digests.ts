/**
 * Digest benchmark: 100 digests due at the same second, one Deckhand scheduler (Agenda on the real
 * store, default digest settings), zero-latency loopback Slack and GitHub stand-ins. Reports when the
 * last digest was posted, counted from the due time. Goal: under 10 s.
 */
import { randomBytes } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { createLogger, loadConfig } from '../src/core/index.js';
import { createScheduler } from '../src/scheduler/index.js';
import { openStore } from '../src/store/index.js';
import { chatDigestPoster } from '../test/support/digest-poster.js';
import { countByChannel, startDigestStandIns } from '../test/support/platforms/index.js';
import { ensureServices, round } from './services.js';

export async function benchDigests(): Promise<Record<string, unknown>> {
  ensureServices('mongo');
  const due = Number(process.env.BENCH_DIGESTS ?? 100);
  const url = new URL(process.env.MONGODB_URI ?? '');
  url.pathname = `/bench_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ uri: url.toString() });
  const stand = await startDigestStandIns();
  const settings = loadConfig({ DECKHAND_CONFIG: process.env.DECKHAND_CONFIG }).digests;
  const github = new Octokit({ baseUrl: `${stand.url}/gh` });
  const scheduler = createScheduler({
    store,
    poster: chatDigestPoster({ slackBotToken: 'xoxb-bench', slackApiUrl: `${stand.url}/slack` }),
    octokitFor: () => github,
    logger: createLogger({ level: 'warn', pretty: false }),
    sweepSeconds: settings.sweepSeconds,
    concurrency: settings.concurrency,
    leaseMs: settings.leaseMs,
  });
  try {
    const dueAt = new Date(Math.ceil((Date.now() + 6000) / 1000) * 1000);
    const cron = `${dueAt.getUTCSeconds()} ${dueAt.getUTCMinutes()} ${dueAt.getUTCHours()} * * *`;
    for (let i = 0; i < due; i++) {
      await store.createSchedule({
        name: `bench-${i}`,
        platform: 'slack',
        workspaceId: 'TBENCH',
        channelId: `CB${i}`,
        cron,
        timezone: 'UTC',
        repos: ['org/a', 'org/b'],
        enabled: true,
      });
    }
    await scheduler.start();
    const deadline = dueAt.getTime() + 120_000;
    while (countByChannel(stand.posts).size < due && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // One more sweep interval: a double post would show up here.
    await new Promise((resolve) => setTimeout(resolve, settings.sweepSeconds * 1000));
    const counts = countByChannel(stand.posts);
    const last = Math.max(...stand.posts.map((p) => p.at));
    const doubled = [...counts.values()].filter((n) => n > 1).length;
    console.log(
      `${counts.size}/${due} digests posted (${stand.posts.length} posts, ${doubled} doubled); due ${dueAt.toISOString()}, concurrency ${settings.concurrency}`,
    );
    return {
      bench: 'digests',
      due,
      posted: counts.size,
      last_posted_after_s: round((last - dueAt.getTime()) / 1000),
    };
  } finally {
    await scheduler.stop();
    await stand.close();
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
}
