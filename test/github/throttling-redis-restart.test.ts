/**
 * The fault suite found GitHub calls failing (or hanging until the drain deadline) for minutes after
 * Redis was stopped for a few seconds and started again, while Slack calls, which take no Bottleneck,
 * recovered at once. This reproduces it in isolation: a PRIVATE Redis (test/faults/services.ts, so
 * stopping it touches no other run; it keeps no data, like the real one, so a restart loses every
 * Bottleneck key, script and subscription), the Octokit class of src/github/octokit.ts sharing its
 * throttling through that Redis, and the loopback GitHub stand-in. Requests during the outage may fail;
 * every one must settle, and requests after the restart must succeed within a bounded wait, still
 * throttled through Redis. Three ways a limiter meets the outage: it exists already (its keys vanish),
 * it is first made during the outage (its setup fails), and it has jobs queued in this process when
 * Redis goes (reads held by a slow server fill the global limiter's ten slots).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GitHubOctokit,
  type GitHubOctokitClient,
  octokitDefaults,
  throttleId,
} from '../../src/github/octokit.js';
import { type PrivateServices, startPrivateServices } from '../faults/services.js';
import {
  type GitHubStandIn,
  githubStandIn,
  type LoopbackServer,
  listenOnLoopback,
  sendJson,
} from '../support/platforms/index.js';

/** Generous for a busy two-core machine; a hung request never settles at all. */
const SETTLE_MS = 20_000;
const COMMENT = '/gh/repos/acme/widgets/issues/comments/9001';

let services: PrivateServices;
let stand: GitHubStandIn;
/** Answers reads after holding them, so they stay in flight (GitHub's stand-in answers at once). */
let slow: LoopbackServer;
let redis: Redis;

beforeAll(async () => {
  services = await startPrivateServices();
  stand = await githubStandIn();
  slow = await listenOnLoopback(async (_req, res) => {
    await new Promise((r) => setTimeout(r, 2000));
    sendJson(res, 200, { full_name: 'acme/widgets' });
  });
  // As src/cli/runtime.ts opens it.
  redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  await redis.ping();
}, 600_000);
afterEach(() => stand.reset());
afterAll(async () => {
  redis?.disconnect();
  await slow?.close();
  await stand?.close();
  await services?.down();
});

type Outcome = { ok: true; ms: number } | { ok: false; ms: number; error: string } | { hung: true };
const succeeded = (o: Outcome) => 'ok' in o && o.ok;
const hung = (o: Outcome) => 'hung' in o;

/** How a request went, or `hung` when it has not settled in SETTLE_MS. */
async function outcome(request: () => Promise<unknown>): Promise<Outcome> {
  const started = Date.now();
  const call = request().then(
    (): Outcome => ({ ok: true, ms: Date.now() - started }),
    (error: unknown): Outcome => ({ ok: false, ms: Date.now() - started, error: String(error) }),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome>((done) => {
    timer = setTimeout(() => done({ hung: true }), SETTLE_MS);
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

function client(token: string, baseUrl: string): GitHubOctokitClient {
  return new GitHubOctokit({
    ...octokitDefaults({ baseUrl, redis, retry: { enabled: false } }, throttleId({ token })),
    auth: token,
  });
}

/** Edits the tracking comment (a write: the write limiter, then the global one). */
function edit(octokit: GitHubOctokitClient, body: string): Promise<Outcome> {
  return outcome(() =>
    octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      owner: 'acme',
      repo: 'widgets',
      comment_id: 9001,
      body,
    }),
  );
}

/** Reads the repository from the slow server (the global limiter only). */
function read(octokit: GitHubOctokitClient): Promise<Outcome> {
  return outcome(() => octokit.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'widgets' }));
}

const newToken = () => `ghp_restart${randomUUID().replace(/-/g, '')}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops the private Redis, runs `meanwhile`, starts it again and waits until our client is back. */
async function outage(meanwhile: () => Promise<void>): Promise<void> {
  await services.stop('redis');
  await meanwhile();
  await services.start('redis');
  const deadline = Date.now() + SETTLE_MS;
  while (redis.status !== 'ready' && Date.now() < deadline) await pause(50);
  expect(redis.status).toBe('ready');
}

/** Retries like Deckhand's callers do (a request right as Redis comes back may still fail). */
async function editUntilOk(octokit: GitHubOctokitClient, body: string): Promise<Outcome[]> {
  const tries: Outcome[] = [];
  const deadline = Date.now() + SETTLE_MS;
  do {
    const result = await edit(octokit, body);
    tries.push(result);
    if (succeeded(result) || hung(result)) break;
    await pause(250);
  } while (Date.now() < deadline);
  return tries;
}

describe('GitHub throttling through Redis when Redis restarts', () => {
  it('serves writes again at once after the restart, spaced through the restarted Redis', async () => {
    const token = newToken();
    const id = throttleId({ token });
    let arrived = 0;
    stand.route('PATCH', COMMENT, 200, () => ({ id: 9001, seen: ++arrived }), true);
    const octokit = client(token, `${stand.url}/gh`);

    const before = await Promise.all([edit(octokit, 'before 1'), edit(octokit, 'before 2')]);
    expect(before.every(succeeded), JSON.stringify(before)).toBe(true);
    expect(await redis.hget(`b_octokit-write-${id}_settings`, 'done')).toBe('2');

    let during: Promise<Outcome>[] = [];
    await outage(async () => {
      // Requests made while Redis is down may fail, but each must settle.
      during = [edit(octokit, 'during 1'), edit(octokit, 'during 2'), edit(octokit, 'during 3')];
      await pause(3000);
    });
    const after = await Promise.all([
      edit(octokit, 'after 1'),
      edit(octokit, 'after 2'),
      edit(octokit, 'after 3'),
    ]);
    const report = JSON.stringify({ during: await Promise.all(during), after });
    expect((await Promise.all(during)).some(hung), report).toBe(false);
    expect(after.every(succeeded), report).toBe(true);
    // Still shared: the restarted Redis holds the write limiter again and counted the writes since.
    expect(Number(await redis.hget(`b_octokit-write-${id}_settings`, 'done')), report).toBeGreaterThanOrEqual(
      3,
    );
    expect(arrived).toBeGreaterThanOrEqual(2 + 3);
  }, 120_000);

  it('serves an identity whose limiters were first made while Redis was down', async () => {
    stand.route('PATCH', COMMENT, 200, { id: 9001 }, true);
    const octokit = client(newToken(), `${stand.url}/gh`);
    let during: Outcome | undefined;
    await outage(async () => {
      during = await edit(octokit, 'during');
    });
    const tries = await editUntilOk(octokit, 'after');
    const report = JSON.stringify({ during, tries });
    expect(during && hung(during), report).toBe(false);
    expect(tries.some(succeeded), report).toBe(true);
    expect(tries.length, report).toBeLessThanOrEqual(5);
  }, 120_000);

  it('runs the jobs queued in this process when Redis went away, once it is back', async () => {
    const octokit = client(newToken(), slow.url);
    // Ten reads fill the global limiter; two wait in this process for a slot.
    const reads = Array.from({ length: 12 }, () => read(octokit));
    await pause(500);
    await outage(async () => {
      await pause(3000); // the ten finish meanwhile, but cannot tell Redis so
    });
    const results = await Promise.all(reads);
    const report = JSON.stringify(results);
    expect(results.some(hung), report).toBe(false);
    expect(results.filter(succeeded).length, report).toBeGreaterThanOrEqual(10);
  }, 120_000);
});
