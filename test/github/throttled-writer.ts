/**
 * One Deckhand process writing to GitHub, for throttling.test.ts: it opens Redis as src/cli/runtime.ts
 * does, makes its GitHub access with that Redis (as `deckhand start` does), says `ready`, and on `go`
 * (stdin) edits a tracking comment `count` times at once on the GitHub stand-in, each body naming this
 * process.
 *
 * Usage: node --import tsx test/github/throttled-writer.ts <redis-url> <api-url> <token> <name> <count>
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createGitHubAccess } from '../../src/github/index.js';

const [redisUrl = '', apiUrl = '', token = '', name = '', count = '1'] = process.argv.slice(2);

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
await redis.ping();
// Retries off: what the stand-in sees is exactly what this process sent.
const access = createGitHubAccess({ token, baseUrl: apiUrl, redis, retry: { enabled: false } });
const octokit = await access.octokit('none');
process.stdout.write('ready\n');

const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;

await Promise.all(
  Array.from({ length: Number(count) }, (_, i) =>
    octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      owner: 'acme',
      repo: 'widgets',
      comment_id: 9001,
      body: `${name} ${i}`,
    }),
  ),
);
process.stdout.write('done\n');
await redis.quit();
process.exit(0);
