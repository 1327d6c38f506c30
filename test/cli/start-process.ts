/**
 * `deckhand start` as a real child process for the stop tests: its JSON log lines kept, its exit
 * awaited, SIGTERM with the time to exit measured, and the "stopped" line's task counts read. The
 * loopback stand-ins the backlog test needs (Slack Web API and a model that answers slowly) are here
 * too, so the test file holds only the behaviour.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createModelStandIn,
  isSlackPost,
  listenOnLoopback,
  parseBody,
  readBody,
  sendJson,
} from '../support/platforms/index.js';

const BIN = resolve(import.meta.dirname, '../../bin/deckhand.js');

export interface StartedProcess {
  role: string;
  port: number;
  child: ChildProcess;
  /** Every line the process wrote (pino JSON on stderr, anything on stdout). */
  lines: string[];
  exited: Promise<number | null>;
}

/** Spawns `deckhand start --role <role>` with only `env` (plus PATH/HOME) and waits for /healthz. */
export async function spawnStart(
  role: 'all' | 'web' | 'worker',
  port: number,
  env: Record<string, string>,
): Promise<StartedProcess> {
  const child = spawn(process.execPath, [BIN, 'start', '--role', role], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // Its own ingest journal: never another process's (or a developer's) events.
      DECKHAND_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'deckhand-journal-')),
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (child.exitCode !== null)
      throw new Error(`deckhand start exited with ${child.exitCode}:\n${lines.slice(-20).join('\n')}`);
    if (i > 900) throw new Error(`deckhand start did not come up on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { role, port, child, lines, exited };
}

/** What the process said it did with its tasks when it stopped. */
export interface StoppedLine {
  finished: number;
  released: number;
  unreleased: number;
  ms: number;
}

function parsed(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The JSON log lines whose msg starts with `prefix`. */
export function logLines(lines: string[], prefix: string): Record<string, unknown>[] {
  return lines
    .map(parsed)
    .filter((l): l is Record<string, unknown> => typeof l?.msg === 'string' && l.msg.startsWith(prefix));
}

/**
 * Sends SIGTERM and waits for the exit, at most `boundMs` (then SIGKILL, so a hang fails the test
 * instead of the suite's timeout). The exit code (null when killed), the time taken, and the
 * "stopped" line.
 */
export async function terminate(
  process_: StartedProcess,
  boundMs: number,
): Promise<{ code: number | null; ms: number; stopped: StoppedLine | undefined }> {
  const started = Date.now();
  process_.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    process_.exited,
    new Promise<'hung'>((r) => {
      timer = setTimeout(() => r('hung'), boundMs);
    }),
  ]);
  clearTimeout(timer);
  const ms = Date.now() - started;
  if (code === 'hung') process_.child.kill('SIGKILL');
  const [stopped] = logLines(process_.lines, 'stopped');
  return {
    code: code === 'hung' ? null : code,
    ms,
    stopped: stopped as StoppedLine | undefined,
  };
}

export interface SlowPlatforms {
  url: string;
  /** How long a model call takes now (0: at once). A call whose client goes away is never answered. */
  modelDelayMs: number;
  modelCalls: { started: number; answered: number; abandoned: number };
  /** chat.postMessage calls per thread_ts. */
  repliesByThread: Map<string, number>;
  close(): Promise<void>;
}

/** Slack's Web API (every method answers ok) and the model providers, answering after modelDelayMs. */
export async function startSlowPlatforms(): Promise<SlowPlatforms> {
  const models = createModelStandIn();
  let ts = 1_700_000_000;
  const platforms: SlowPlatforms = {
    url: '',
    modelDelayMs: 0,
    modelCalls: { started: 0, answered: 0, abandoned: 0 },
    repliesByThread: new Map(),
    close: async () => undefined,
  };
  const loopback = await listenOnLoopback(async (req, res) => {
    const body = parseBody(await readBody(req), req.headers['content-type']);
    const path = req.url ?? '';
    if (path.startsWith('/slack/api/')) {
      if (isSlackPost(path.slice('/slack/api/'.length))) {
        const thread = String(body.thread_ts ?? body.ts ?? '');
        platforms.repliesByThread.set(thread, (platforms.repliesByThread.get(thread) ?? 0) + 1);
      }
      return sendJson(res, 200, { ok: true, ts: `${ts++}.000100`, channel: body.channel ?? 'C1' });
    }
    if (!models.handles(path)) return sendJson(res, 404, { error: `no stand-in for ${path}` });
    platforms.modelCalls.started++;
    const gone = await new Promise<boolean>((done) => {
      const timer = setTimeout(() => done(false), platforms.modelDelayMs);
      res.once('close', () => {
        clearTimeout(timer);
        done(true);
      });
    });
    if (gone || res.writableEnded) {
      platforms.modelCalls.abandoned++;
      return;
    }
    platforms.modelCalls.answered++;
    const answer = models.answer(path, body);
    sendJson(res, answer.status, answer.body);
  });
  platforms.url = loopback.url;
  platforms.close = loopback.close;
  return platforms;
}
