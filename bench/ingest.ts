/**
 * Ingest benchmark: `deckhand start` in its own process on the real store; this process sends signed
 * Slack events and GitHub webhooks at a fixed rate (500/s for 20 s, one in ten a redelivery), then
 * steps the rate up to find the highest it sustains. Checks every accepted event became exactly one task.
 * Knobs: BENCH_SECONDS (20), BENCH_RATE (500), BENCH_WARMUP_SECONDS (3, at 250/s, not measured),
 * BENCH_STEP_RATES ("750,1000,...", 5 s each; empty for none), BENCH_SERVER_NODE_ARGS (e.g. --cpu-prof).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { signSlackRequest } from '../src/bots/index.js';
import { signGitHubPayload } from '../src/github/index.js';
import { openStore } from '../src/store/index.js';
import { ensureServices, percentile, round } from './services.js';

const SLACK = 'bench-slack-secret';
const GITHUB = 'bench-github-secret';

function slackBody(id: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'TBENCH',
    event_id: id,
    event_time: 1,
    authorizations: [{ user_id: 'UBOT', is_bot: true }],
    event: {
      type: 'app_mention',
      user: 'U1',
      text: '<@UBOT> status',
      ts: '1.1',
      channel: 'C1',
      event_ts: '1.1',
    },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(SLACK, ts, body),
    },
  };
}

function githubBody(id: string): { key: string; body: string; headers: Record<string, string> } {
  const commentId = Number.parseInt(id.slice(0, 12), 16);
  const body = JSON.stringify({
    action: 'created',
    issue: { number: 1, title: 't', body: '', pull_request: undefined },
    // The dedupe key comes from the signed body (the comment id): a new id per new comment.
    comment: {
      id: commentId,
      body: '@deckhand status',
      user: { login: 'octo', type: 'User' },
    },
    repository: { full_name: 'acme/api', name: 'api', owner: { login: 'acme' } },
    installation: { id: 42 },
    sender: { login: 'octo', type: 'User' },
  });
  return {
    // The task's event id: GitHub's dedupe key is the signed comment, not X-GitHub-Delivery.
    key: `issue_comment.created:comment:${commentId}:`,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': id,
      'x-hub-signature-256': signGitHubPayload(GITHUB, body),
    },
  };
}

async function phase(base: string, dispatcher: Agent, rate: number, seconds: number, acked: Set<string>) {
  const latencies: number[] = [];
  const bySecond: number[][] = [];
  let errors = 0;
  const total = rate * seconds;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  let previous: { path: string; key: string; body: string; headers: Record<string, string> } | undefined;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // One request in ten is a redelivery of the one before it, as a platform retry would be.
    const github = i % 2 === 1;
    const id = randomBytes(8).toString('hex');
    const current =
      i % 10 === 9 && previous
        ? previous
        : github
          ? { path: '/github/webhooks', ...githubBody(id) }
          : { path: '/slack/events', key: id, ...slackBody(id) };
    previous = current;
    const t0 = performance.now();
    inflight.push(
      request(`${base}${current.path}`, {
        method: 'POST',
        headers: current.headers,
        body: current.body,
        dispatcher,
      })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode >= 300) errors++;
          else acked.add(current.key);
          const ms = performance.now() - t0;
          latencies.push(ms);
          const second = Math.floor((t0 - started) / 1000);
          const bucket = bySecond[second] ?? [];
          bucket.push(ms);
          bySecond[second] = bucket;
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  // Where in the phase the slow requests were (second: p50/p99 ms), for reading a bad p99.
  console.error(
    `  ${rate}/s by second: ${bySecond.map((l, i) => `${i}:${round(percentile(l, 50), 1)}/${round(percentile(l, 99), 1)}`).join(' ')}`,
  );
  return {
    rate,
    achieved: total / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

export async function benchIngest(): Promise<Record<string, unknown>> {
  ensureServices('mongo');
  const url = new URL(process.env.MONGODB_URI ?? '');
  url.pathname = `/bench_ingest_${randomBytes(3).toString('hex')}`;
  const port = 30000 + Math.floor(Math.random() * 20000);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // For profiling the server, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      resolve(import.meta.dirname, '../bin/deckhand.js'),
      'start',
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DECKHAND_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'deckhand-journal-')),
        NODE_ENV: 'production',
        LOG_LEVEL: 'error',
        PORT: String(port),
        MONGODB_URI: url.toString(),
        SLACK_SIGNING_SECRET: SLACK,
        GITHUB_WEBHOOK_SECRET: GITHUB,
        DECKHAND_USER_PER_MINUTE: '1000000',
        DECKHAND_ROLE: process.env.BENCH_ROLE ?? 'web',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stopServer = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  };
  const base = `http://127.0.0.1:${port}`;
  // Platforms deliver over many connections; a pool of 64 capped the requests in flight at 64, so
  // the rate could not pass 64 / latency whatever the server did.
  const dispatcher = new Agent({ connections: 256, pipelining: 1 });
  const store = await openStore({ uri: url.toString(), ensureIndexes: false });
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (i > 300) throw new Error('deckhand start did not come up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = Number(process.env.BENCH_SECONDS ?? 20);
    const acked = new Set<string>();
    // Warm-up, not measured (its events are checked like the others): the server's first seconds
    // compile its code paths and fill the connection pools, and showed up as a p99 of 500 ms.
    const warmup = await phase(base, dispatcher, 250, Number(process.env.BENCH_WARMUP_SECONDS ?? 3), acked);
    console.log(
      `warm-up 250/s: p50 ${round(warmup.p50)} ms p99 ${round(warmup.p99)} ms errors ${warmup.errors}`,
    );
    const rate = Number(process.env.BENCH_RATE ?? 500);
    const main = await phase(base, dispatcher, rate, seconds, acked);
    console.log(
      `${rate}/s for ${seconds}s: achieved ${round(main.achieved)}/s p50 ${round(main.p50)} ms p99 ${round(main.p99)} ms errors ${main.errors}`,
    );
    let rpsMax = main.errors === 0 && main.achieved > rate * 0.95 ? rate : Math.floor(main.achieved);
    const steps = (process.env.BENCH_STEP_RATES ?? '750,1000,1250,1500,2000,3000').split(',').filter(Boolean);
    for (const stepRate of steps.map(Number)) {
      const step = await phase(base, dispatcher, stepRate, 5, acked);
      console.log(
        `${stepRate}/s for 5s: achieved ${round(step.achieved)}/s p50 ${round(step.p50)} ms p99 ${round(step.p99)} ms errors ${step.errors}`,
      );
      if (step.errors > 0 || step.achieved < stepRate * 0.95 || step.p99 > 250) break;
      rpsMax = stepRate;
    }
    // Stop the server first (SIGTERM drains in-flight writes), so the books are final.
    await stopServer();
    // Every acked event must be exactly one task.
    const tasks = await store.models.Task.countDocuments({});
    const withTask = new Set<string>();
    for (const platform of ['slack', 'github'] as const) {
      for (const key of await store.models.Task.distinct('source.eventId', { 'source.platform': platform })) {
        withTask.add(String(key));
      }
    }
    const lost = [...acked].filter((key) => !withTask.has(key)).length;
    return {
      bench: 'ingest',
      rps_max: rpsMax,
      p50_ms: round(main.p50),
      p99_ms: round(main.p99),
      lost,
      duplicates: tasks - withTask.size,
    };
  } finally {
    // Wait for the server to stop before dropping its database; a drop under its writes fails
    // silently and left each run's database (hundreds of MB of WAL) behind.
    await stopServer();
    await store
      .dropDatabase()
      .catch((error: unknown) => console.error(`could not drop the bench database: ${String(error)}`));
    await store.close();
    await dispatcher.close();
  }
}
