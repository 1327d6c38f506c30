/**
 * A real Deckhand scheduler process for the multi-process tests: Agenda on the store, the digest
 * runner, posting to the loopback Slack stand-in under its own path prefix (so the test can tell the
 * processes apart and hold one's posts), reading GitHub from the stand-in.
 * Usage: node --import tsx test/scheduler/support/scheduler-process.ts <mongodb-uri> <stand-in-url> <name> <leaseMs>
 */
import { Octokit } from '@octokit/rest';
import { createLogger } from '../../../src/core/index.js';
import { createScheduler } from '../../../src/scheduler/index.js';
import { openStore } from '../../../src/store/index.js';
import { chatDigestPoster } from '../../support/digest-poster.js';

const [uri = '', standIn = '', name = 'scheduler', leaseMs = '2000'] = process.argv.slice(2);
const store = await openStore({ uri, retryBaseMs: 0 });
const scheduler = createScheduler({
  store,
  id: name,
  poster: chatDigestPoster({
    slackBotToken: 'xoxb-test-token',
    slackApiUrl: `${standIn}/${name}`,
    retry: { tries: 1, timeoutMs: 60_000 },
  }),
  octokitFor: () => new Octokit({ baseUrl: `${standIn}/gh` }),
  sweepSeconds: 1,
  leaseMs: Number(leaseMs),
  retryBaseMs: 500,
  concurrency: 4,
  logger: createLogger({ level: process.env.SCHEDULER_TEST_LOG === '1' ? 'debug' : 'silent', pretty: false }),
  shutdownGraceMs: 5000,
});
await scheduler.start();
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await scheduler.stop();
  await store.close();
  process.exit(0);
});
