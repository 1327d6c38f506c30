/**
 * `deckhand start` stops cleanly on SIGTERM, as a real process on a real store: it claims nothing
 * more, running tasks finish or go back to the queue within tasks.shutdownGraceMs, every handle is
 * closed and the process exits 0, soon. Seen before the fix (issue 19): after serving the GitHub
 * example payloads with no GitHub credentials it logged "stopped" and never exited (Agenda's timers),
 * and under a backlog it took longer than 20 s.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { signSlackRequest } from '../../src/bots/index.js';
import { signGitHubPayload } from '../../src/github/index.js';
import type { Store } from '../../src/store/index.js';
import { freePort } from '../faults/processes.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';
import {
  logLines,
  type SlowPlatforms,
  type StartedProcess,
  spawnStart,
  startSlowPlatforms,
  terminate,
} from './start-process.js';

const SLACK_SECRET = 'start-stop-slack-secret';
const GITHUB_SECRET = 'start-stop-github-secret';
const GRACE_MS = 2000;
/** Grace, then releasing, closing and the process ending: generous, this is a behaviour check. */
const EXIT_BOUND_MS = GRACE_MS + 10_000;
/** How long a process gets to come up or finish its tasks, polled every 100 ms. */
const WAIT = { timeout: 60_000, interval: 100 };
const examples = JSON.parse(
  readFileSync(
    createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json'),
    'utf8',
  ),
) as { name: string; examples: unknown[] }[];

const started: StartedProcess[] = [];
let store: Store;
let uri: string;
let platforms: SlowPlatforms;

beforeAll(async () => {
  uri = testDatabaseUri('startstop');
  store = await openTestStore({ uri });
  platforms = await startSlowPlatforms();
});
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
afterAll(async () => {
  await platforms?.close();
  await dropTestStore(store);
});

/** No GitHub credentials (only the webhook secret); Slack and the model on loopback stand-ins. */
function baseEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    MONGODB_URI: uri,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-start-stop-0000',
    SLACK_API_URL: `${platforms.url}/slack/api`,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    ANTHROPIC_API_KEY: 'sk-ant-start-stop-0000',
    ANTHROPIC_BASE_URL: `${platforms.url}/anthropic`,
    DECKHAND_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    DECKHAND_CONCURRENCY: '4',
    DECKHAND_USER_PER_MINUTE: '1000000',
    DECKHAND_WORKSPACE_PER_MINUTE: '1000000',
    // No sandbox image by this name: code execution stays off, so no containers start.
    DECKHAND_SANDBOX_IMAGE: 'deckhand-start-stop-no-sandbox:none',
  };
}

async function start(role: 'all' | 'web' | 'worker'): Promise<StartedProcess> {
  const p = await spawnStart(role, await freePort(), baseEnv());
  started.push(p);
  return p;
}

/** Every @octokit/webhooks-examples payload, signed as GitHub signs it; how many were acked. */
async function serveGitHubExamples(port: number, tag: string): Promise<number> {
  let n = 0;
  let acked = 0;
  for (const group of examples) {
    for (const payload of group.examples) {
      const body = JSON.stringify(payload);
      const res = await fetch(`http://127.0.0.1:${port}/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': group.name,
          'x-github-delivery': `${tag}-${n++}`,
          'x-hub-signature-256': signGitHubPayload(GITHUB_SECRET, body),
        },
        body,
      });
      await res.arrayBuffer();
      if (res.ok) acked++;
    }
  }
  return acked;
}

/** A signed Slack app_mention of `text` in its own thread (ts `thread`); true when acked. */
async function mention(port: number, eventId: string, thread: string, text: string): Promise<boolean> {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'TSTOP',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'app_mention',
      user: 'USTOP',
      text: `<@UBOT> ${text}`,
      ts: thread,
      channel: 'CSTOP',
      event_ts: thread,
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(SLACK_SECRET, ts, body),
    },
    body,
  });
  await res.arrayBuffer();
  return res.ok;
}

/** The backlog test's tasks (its events' ids start with EvBacklog). */
async function backlogTasks() {
  return (await store.listTasks({}, 1000)).filter((t) => t.source.eventId?.startsWith('EvBacklog'));
}

async function tasksByStatus(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await backlogTasks()) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

describe('deckhand start on SIGTERM', () => {
  it.each([
    'all',
    'web',
    'worker',
  ] as const)('--role %s: after serving the GitHub example payloads and Slack mentions, exits 0 within the grace', async (role) => {
    // Periodic jobs due now (left by the roles before): Agenda runs them at once, and each run it
    // watched left a timer of lockLifetime / 2 (5 minutes) that held the process after "stopped".
    await store.db.collection('agendaJobs').updateMany({}, { $set: { nextRunAt: new Date() } });
    const p = await start(role);
    if (role !== 'worker') {
      expect(await serveGitHubExamples(p.port, `gh-${role}`)).toBeGreaterThan(300);
      for (let i = 0; i < 5; i++)
        expect(await mention(p.port, `EvIdle${role}${i}`, `170000000${i}.000100`, 'help')).toBe(true);
    }
    // A worker runs Agenda's periodic jobs: let the sweep run at least once before stopping.
    await new Promise((r) => setTimeout(r, 3000));
    const { code, ms, stopped } = await terminate(p, EXIT_BOUND_MS);
    expect({ code, hung: ms >= EXIT_BOUND_MS }).toEqual({ code: 0, hung: false });
    expect(stopped).toMatchObject({ finished: expect.any(Number), released: 0, unreleased: 0 });
    // If a library's timer still held the process, the line that ended it says what was open.
    for (const line of logLines(p.lines, 'something still holds')) expect(line.open).toBeTypeOf('object');
  }, 90_000);

  it('under a backlog, releases what outlives the grace; a process started after finishes each once', async () => {
    platforms.modelDelayMs = 60_000; // each model call outlives the grace by far
    const first = await start('all');
    const threads = Array.from({ length: 24 }, (_, i) => `17100000${String(i).padStart(2, '0')}.000100`);
    for (const [i, thread] of threads.entries())
      expect(await mention(first.port, `EvBacklog${i}`, thread, `question ${i}: what changed?`)).toBe(true);
    // Four running (the concurrency), the rest queued behind them.
    await vi.waitFor(async () => expect((await tasksByStatus()).running).toBe(4), WAIT);
    const running = (await backlogTasks()).filter((t) => t.status === 'running').map((t) => t.id);

    const { code, ms, stopped } = await terminate(first, EXIT_BOUND_MS);
    expect({ code, hung: ms >= EXIT_BOUND_MS }).toEqual({ code: 0, hung: false });
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS - 200); // the running tasks were given their grace
    expect(stopped).toMatchObject({ finished: 0, released: 4, unreleased: 0 });
    expect(logLines(first.lines, 'shutting down')).toHaveLength(1);
    // No claim after the signal: nothing runs, the released four are back in the queue.
    expect(await tasksByStatus()).toEqual({ queued: threads.length });

    platforms.modelDelayMs = 0;
    const next = await start('worker');
    const done = await vi.waitFor(async () => {
      const tasks = await backlogTasks();
      const open = tasks.filter((t) => t.status !== 'succeeded').length;
      if (open > 0) throw new Error(`${open} of ${tasks.length} tasks not succeeded yet`);
      return tasks;
    }, WAIT);
    expect(done).toHaveLength(threads.length);
    // Each released task ended once, by the next process; every thread got one reply.
    for (const id of running) {
      const ends = await store.models.TaskTransition.find({ taskId: id, phase: 'end' }).lean();
      expect(ends.map((e) => (e.set as { status?: string }).status).sort()).toEqual(['queued', 'succeeded']);
      expect(ends.find((e) => (e.set as { status?: string }).status === 'succeeded')?.by).toContain(
        `:${next.child.pid}:`,
      );
    }
    for (const thread of threads) expect(platforms.repliesByThread.get(thread), thread).toBe(1);
    expect((await terminate(next, EXIT_BOUND_MS)).code).toBe(0);
  }, 120_000);
});
