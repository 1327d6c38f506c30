/**
 * GitHub asks integrations to space their writes (about one a second); @octokit/plugin-throttling does
 * that, and with REDIS_URL every Deckhand process acting as the same App or token does it together.
 * Two real processes (throttled-writer.ts) share the real Redis from scripts/services.sh and post to
 * the loopback GitHub stand-in: their writes are spaced as one process's would be.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { throttleId } from '../../src/github/octokit.js';
import { type GitHubStandIn, githubStandIn } from '../support/platforms/index.js';

const WRITER = resolve(import.meta.dirname, 'throttled-writer.ts');
const WRITES_EACH = 4;

let stand: GitHubStandIn;
let redis: Redis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through scripts/services.sh (global setup)');
  redis = new Redis(url, { maxRetriesPerRequest: 2 });
  stand = await githubStandIn();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  stand.reset();
});
afterAll(async () => {
  await stand?.close();
  redis?.disconnect();
});

/** A writer process, once it has said `ready`; `finished` settles when it exits. */
async function startWriter(token: string, name: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      WRITER,
      process.env.REDIS_URL ?? '',
      `${stand.url}/gh`,
      token,
      name,
      String(WRITES_EACH),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const finished = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  await new Promise<void>((ready, fail) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`writer ${name} exited with ${code} before it was ready`)));
  });
  return { go: () => child.stdin?.write('go\n'), finished };
}

async function dropBottleneckKeys(id: string): Promise<void> {
  const keys = await redis.keys(`b_octokit-*-${id}_*`);
  if (keys.length) await redis.del(...keys);
}

describe('GitHub throttling shared through Redis', () => {
  it('spaces the writes of two processes acting as the same token as if one process made them all', async () => {
    const token = `ghp_throttle${randomUUID().replace(/-/g, '')}`;
    const id = throttleId({ token });
    const arrivals: { at: number; writer: string }[] = [];
    stand.route(
      'PATCH',
      '/gh/repos/acme/widgets/issues/comments/9001',
      200,
      (req) => {
        arrivals.push({ at: Date.now(), writer: String(req.body.body).split(' ')[0] ?? '' });
        return { id: 9001 };
      },
      true,
    );
    try {
      const [first, second] = await Promise.all([startWriter(token, 'first'), startWriter(token, 'second')]);
      first.go();
      second.go();
      expect(await first.finished).toBe(0);
      expect(await second.finished).toBe(0);

      const total = 2 * WRITES_EACH;
      expect(arrivals.filter((a) => a.writer === 'first')).toHaveLength(WRITES_EACH);
      expect(arrivals.filter((a) => a.writer === 'second')).toHaveLength(WRITES_EACH);
      // One write a second for everyone: eight writes need about seven seconds. Each process alone
      // would need three, in parallel with the other. (A lower bound: a busy machine only adds time.)
      const times = arrivals.map((a) => a.at).sort((a, b) => a - b);
      expect(times[total - 1]! - times[0]!).toBeGreaterThanOrEqual(5000);
      // The one write limiter both processes used, kept in Redis, counted every write.
      expect(await redis.hget(`b_octokit-write-${id}_settings`, 'done')).toBe(String(total));
    } finally {
      await dropBottleneckKeys(id);
    }
  }, 90_000);
});
