/**
 * SIGTERM under load, with real processes: a `deckhand start` taking signed Slack events is told to
 * stop mid-stream, and a worker holding slow tasks is told to stop before they end. Nothing is lost:
 * every acked event ends as exactly one succeeded task, finished by the stopping process or released
 * to the queue and finished by the next one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { freePort } from '../faults/processes.js';
import { signedSlackMention } from '../support/ingress.js';
import { dropTestStore, openTestStore, testDatabaseUri } from '../support/store.js';

const BIN = resolve(import.meta.dirname, '../../bin/deckhand.js');
const CRASH_WORKER = resolve(import.meta.dirname, '../support/crash-worker.ts');
const SECRET = 'sigterm-test-secret';
const children: ChildProcess[] = [];
let store: Store;
let uri: string;

beforeAll(async () => {
  uri = testDatabaseUri('sigterm');
  store = await openTestStore({ uri });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => dropTestStore(store));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', r));
}

/** How long a process gets to come up or finish its tasks, polled every 100 ms. */
const WAIT = { timeout: 60_000, interval: 100 };
/** tasks.shutdownGraceMs for the spawned processes, and how long an exit may take at most after SIGTERM. */
const GRACE_MS = 3000;
const EXIT_BOUND_MS = GRACE_MS + 10_000;

/** Exit code and how long after `signalledAt` the process ended; a hang past EXIT_BOUND_MS is SIGKILLed. */
async function exitTimed(
  child: ChildProcess,
  signalledAt: number,
): Promise<{ code: number | null; ms: number }> {
  const hung = setTimeout(() => child.kill('SIGKILL'), EXIT_BOUND_MS);
  const code = await exitOf(child);
  clearTimeout(hung);
  return { code, ms: Date.now() - signalledAt };
}

async function startDeckhand(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--role', 'all'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // Its own ingest journal: never another process's (or a developer's) events.
      DECKHAND_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'deckhand-journal-')),
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      PORT: String(port),
      MONGODB_URI: uri,
      SLACK_SIGNING_SECRET: SECRET,
      DECKHAND_USER_PER_MINUTE: '1000000',
      DECKHAND_WORKSPACE_PER_MINUTE: '1000000',
      DECKHAND_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      DECKHAND_SANDBOX_IMAGE: 'deckhand-sigterm-no-sandbox:none',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  await vi.waitFor(async () => {
    // Refused until the process listens: waitFor tries again.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).ok).toBe(true);
  }, WAIT);
  return child;
}

/** One signed app_mention; true when acked (2xx). */
async function deliver(port: number, eventId: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      ...signedSlackMention(eventId, SECRET, 'TSIG'),
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false; // refused (the process is stopping): the platform retries
  }
}

describe('SIGTERM during load', () => {
  it('stops a serving deckhand start cleanly: every event ends as exactly one succeeded task', async () => {
    const port = await freePort();
    const first = await startDeckhand(port);
    const ids = Array.from({ length: 120 }, (_, i) => `EvSig${i}`);
    const acked = new Set<string>();
    // 40 events/s; SIGTERM a third of the way in, while requests and tasks are in flight.
    const sends: Promise<void>[] = [];
    let signalledAt = 0;
    for (const [i, id] of ids.entries()) {
      if (i === 40) {
        first.kill('SIGTERM');
        signalledAt = Date.now();
      }
      sends.push(deliver(port, id).then((ok) => void (ok && acked.add(id))));
      await sleep(25);
    }
    await Promise.all(sends);
    // Exits 0, and within the grace plus closing (a behaviour bound, not a benchmark).
    const stoppedFirst = await exitTimed(first, signalledAt);
    expect(stoppedFirst.code).toBe(0);
    expect(stoppedFirst.ms).toBeLessThan(EXIT_BOUND_MS);

    // The platform redelivers what was not acked, to the next process on the same address.
    const second = await startDeckhand(port);
    for (const id of ids.filter((id) => !acked.has(id))) if (await deliver(port, id)) acked.add(id);
    expect(acked.size).toBe(ids.length);

    const tasks = await vi.waitFor(async () => {
      const all = await store.listTasks({}, 1000);
      const open = all.filter((t) => t.status !== 'succeeded').length;
      if (all.length < ids.length || open > 0) throw new Error(`${all.length} tasks, ${open} not succeeded`);
      return all;
    }, WAIT);
    expect(tasks.map((t) => t.source.eventId).sort()).toEqual([...ids].sort());
    second.kill('SIGTERM');
    const stoppedSecond = await exitTimed(second, Date.now());
    expect(stoppedSecond.code).toBe(0);
    expect(stoppedSecond.ms).toBeLessThan(EXIT_BOUND_MS);
  }, 120_000);

  it('releases tasks still running after the grace period, and another worker finishes each once', async () => {
    const source = { platform: 'terminal' as const, channelId: 'sigterm' };
    const quick = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 1 });
    const stopping = spawn(process.execPath, ['--import', 'tsx', CRASH_WORKER, uri, '20000', 'stopping'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(stopping);
    const waitForStart = (id: string) =>
      vi.waitFor(async () => {
        expect(
          await store.models.AuditEntry.countDocuments({ action: 'work.started', target: id }),
        ).toBeGreaterThan(0);
      }, WAIT);
    await waitForStart(quick.id);
    const slow = await store.enqueueTask({ kind: 'crash.test', source, maxAttempts: 1 });
    await waitForStart(slow.id);

    // Both are 20 s tasks; the worker's grace is 5 s, so it must release them, not drop them.
    stopping.kill('SIGTERM');
    expect(await exitOf(stopping)).toBe(0);
    for (const task of [quick, slow])
      expect(await store.getTask(task.id)).toMatchObject({ status: 'queued' });

    const next = spawn(process.execPath, ['--import', 'tsx', CRASH_WORKER, uri, '0', 'next'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(next);
    for (const task of [quick, slow]) {
      const done = await vi.waitFor(async () => {
        const t = await store.getTask(task.id);
        if (t?.status !== 'succeeded') throw new Error(`task ${task.id} is ${t?.status}`);
        return t;
      }, WAIT);
      // A release does not use up the attempt: maxAttempts 1 still got its second run.
      expect(done.result).toEqual({ by: 'next' });
      expect(await store.models.AuditEntry.countDocuments({ action: 'work.done', target: task.id })).toBe(1);
    }
  }, 90_000);
});
