/**
 * `npm run test:faults`: signed Slack events at a steady rate against a Deckhand web process and
 * worker processes (real child processes on a PRIVATE FerretDB and Redis), while the suite
 *   1. kills a worker with SIGKILL (and starts a replacement),
 *   2. stops the MongoDB-compatible server and starts it again,
 *   3. stops Redis for 10 s,
 *   4. makes the model API answer 500s for a while,
 * then checks the books: every event acked and processed exactly once, nothing lost, no duplicate
 * tasks, and every request that arrived while the store was down answered 503 (so the platform
 * retries), never acked. One GitHub mention a second goes alongside (github-traffic.ts): GitHub
 * never retries, so those refused during the store outage must come in through the workers'
 * redelivery job, counted as `github_redelivered`. The last line is one JSON object.
 *
 * Knobs: FAULTS_RATE (events/s, default 10), FAULTS_SECONDS (default 70).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { startFaultStandIns } from '../support/platforms/index.js';
import { startGitHubFaultTraffic } from './github-traffic.js';
import { type DeckhandProcess, openLog, startDeckhand } from './processes.js';
import { startPrivateServices } from './services.js';
import { createSender } from './traffic.js';

const SECRET = 'faults-slack-signing-secret';
const RATE = Number(process.env.FAULTS_RATE ?? 10);
const SECONDS = Number(process.env.FAULTS_SECONDS ?? 70);
/**
 * Slack's own schedule (3 s ack timeout; retries after about 0 s, 1 min and 5 min), compressed so
 * that a retry lands after each outage here ends. A tighter schedule is a retry storm, not a platform.
 */
const RETRY_AFTER_MS = [1000, 5000, 15_000, 30_000, 60_000];
const at = (fraction: number) => Math.round(SECONDS * 1000 * fraction);
/** When each fault starts, as a share of the traffic window, and how long it lasts. */
const SCHEDULE = {
  killWorker: at(0.1),
  storeDown: at(0.25),
  storeDownMs: 8000,
  redisDown: at(0.5),
  redisDownMs: 10_000,
  modelDown: at(0.72),
  modelDownMs: 10_000,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`faults: ${line}\n`);

async function main(): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), 'deckhand-faults-run-'));
  const log = openLog(join(workDir, 'deckhand.log'));
  say(`logs in ${workDir}/deckhand.log`);
  const services = await startPrivateServices();
  const standIns = await startFaultStandIns();
  // GitHub as an App, with the redelivery job every 5 s (the stand-in keeps the delivery log).
  const github = await startGitHubFaultTraffic({ intervalSeconds: 5 });
  const processes: DeckhandProcess[] = [];
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
    MONGODB_URI: services.mongoUri,
    REDIS_URL: services.redisUrl,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-faults-0000',
    SLACK_API_URL: `${standIns.url}/slack/api`,
    ANTHROPIC_API_KEY: 'sk-ant-faults-0000',
    ANTHROPIC_BASE_URL: `${standIns.url}/anthropic`,
    DECKHAND_LEASE_MS: '10000',
    DECKHAND_MAX_ATTEMPTS: '6',
    DECKHAND_CONCURRENCY: '8',
    DECKHAND_USER_PER_MINUTE: '1000000',
    DECKHAND_WORKSPACE_PER_MINUTE: '1000000',
    // No sandbox image by this name: code execution stays off, so no containers start.
    DECKHAND_SANDBOX_IMAGE: 'deckhand-faults-no-sandbox:none',
    ...github.env,
  };
  const store = await openStore({ uri: services.mongoUri, retries: 10 });
  try {
    const web = await startDeckhand('web', 'web', env, log);
    processes.push(web);
    github.setTarget(`http://127.0.0.1:${web.port}`);
    for (const name of ['worker-1', 'worker-2'])
      processes.push(await startDeckhand(name, 'worker', env, log));
    say(`web on :${web.port}, 2 workers; ${RATE} events/s for ${SECONDS} s`);

    const sender = createSender({
      base: `http://127.0.0.1:${web.port}`,
      signingSecret: SECRET,
      timeoutMs: 3000,
      maxAttempts: RETRY_AFTER_MS.length + 1,
      backoffMs: (n) => RETRY_AFTER_MS[n - 1] ?? 60_000,
    });
    const windows = { storeDown: { from: 0, to: 0 }, modelDown: { from: 0 } };
    let modelFailing = false;

    // Each fault starts at its own time from the start of traffic (restarts take a while; relative
    // sleeps drifted until the model outage began after the last event was sent).
    const trafficStart = Date.now();
    const sleepUntil = (offsetMs: number) => sleep(Math.max(0, trafficStart + offsetMs - Date.now()));
    const faults = (async () => {
      await sleepUntil(SCHEDULE.killWorker);
      const victim = processes.find((p) => p.name === 'worker-1');
      victim?.child.kill('SIGKILL');
      say('SIGKILL worker-1');
      await sleep(2000);
      processes.push(await startDeckhand('worker-3', 'worker', env, log));
      say('worker-3 started in its place');

      await sleepUntil(SCHEDULE.storeDown);
      await services.stop('ferretdb');
      windows.storeDown.from = Date.now();
      say('FerretDB stopped');
      await sleep(SCHEDULE.storeDownMs);
      await services.start('ferretdb');
      windows.storeDown.to = Date.now();
      say(`FerretDB back after ${windows.storeDown.to - windows.storeDown.from} ms`);

      await sleepUntil(SCHEDULE.redisDown);
      await services.stop('redis');
      say('Redis stopped');
      await sleep(SCHEDULE.redisDownMs);
      await services.start('redis');
      say('Redis back');

      await sleepUntil(SCHEDULE.modelDown);
      standIns.armModelOutage(SCHEDULE.modelDownMs);
      modelFailing = true;
      windows.modelDown.from = Date.now();
      say(`model API fails (500s) for ${SCHEDULE.modelDownMs} ms from the next model call`);
      await sleep(SCHEDULE.modelDownMs);
      modelFailing = false;
    })();

    // Steady rate; free-form questions (for the model) from the model outage on, commands before.
    const total = RATE * SECONDS;
    const started = trafficStart;
    let chats = 0;
    for (let i = 0; i < total; i++) {
      const wait = started + (i * 1000) / RATE - Date.now();
      if (wait > 1) await sleep(wait);
      const chat = modelFailing || (windows.modelDown.from > 0 && i % 2 === 0);
      if (chat) chats++;
      sender.send(
        `EvFaults${String(i).padStart(6, '0')}`,
        `${1_800_000_000 + i}.000100`,
        chat ? 'what changed in the api repo today?' : 'help',
      );
      // One GitHub mention a second, sent once: GitHub does not retry.
      if (i % Math.max(1, RATE) === 0) github.send(i);
    }
    await faults;
    say(`sent ${total} events; waiting for retries and the queue to drain`);
    await Promise.all(sender.deliveries.map((d) => d.done));
    if (!(await github.waitForRedeliveries(120_000)))
      say('some GitHub events refused at first were not redelivered within 2 min');
    // FerretDB/SQLite on 2 cores works through the backlog the outages leave at ~5 tasks/s; a task still
    // running or queued after this counts as lost.
    const drainDeadline = Date.now() + 300_000;
    for (;;) {
      // The live-task list is small; counting tasks by status is a scan of every task (with its
      // payload) on FerretDB/SQLite, and doing that twice a second made the suite FerretDB's
      // biggest client. Count the tasks themselves only once the list looks empty.
      const live = await store.models.TaskQueueEntry.countDocuments({}).catch(() => -1);
      const [queued, running] =
        live === 0
          ? await Promise.all([
              store.countTasks({ status: 'queued' }),
              store.countTasks({ status: 'running' }),
            ])
          : [Math.max(live, 1), 0];
      if (queued + running === 0) break;
      if (Date.now() > drainDeadline) {
        const [stillQueued, stillRunning] = await Promise.all([
          store.countTasks({ status: 'queued' }),
          store.countTasks({ status: 'running' }),
        ]);
        say(`queue did not drain: ${stillQueued} queued, ${stillRunning} running (${live} listed)`);
        // What a stuck task looks like in each of the queue's three records, for whoever debugs it.
        const stuck = await store.models.Task.find({ status: { $in: ['queued', 'running'] } })
          .limit(3)
          .lean();
        for (const task of stuck) {
          const [entry, transitions] = await Promise.all([
            store.models.TaskQueueEntry.findById(task._id).lean(),
            store.models.TaskTransition.find({ taskId: task._id }).lean(),
          ]);
          const { status, attempts, maxAttempts, leaseOwner, leaseExpiresAt, runAfter } = task;
          say(
            `stuck ${String(task._id)}: ${JSON.stringify({ status, attempts, maxAttempts, leaseOwner, leaseExpiresAt, runAfter, entry, transitions: transitions.map((t) => ({ attempt: t.attempt, phase: t.phase, by: t.by, status: t.set.status, at: t.at })) })}`,
          );
        }
        for (const p of processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null)) {
          const text = await fetch(`http://127.0.0.1:${p.port}/metrics`, {
            signal: AbortSignal.timeout(3000),
          }).then((r) => r.text(), String);
          const active = text
            .split('\n')
            .filter((l) => /^deckhand_tasks_active|^deckhand_task_duration_seconds_count/.test(l));
          say(`${p.name} :${p.port} ${active.join(' | ')}`);
        }
        break;
      }
      await sleep(2000);
    }

    // The books.
    const tasks = await store.models.Task.find({}, { status: 1, 'source.eventId': 1, attempts: 1 }).lean<
      { status: string; source: { eventId?: string }; attempts: number }[]
    >();
    const tasksByEvent = new Map<string, string[]>();
    for (const task of tasks) {
      const id = task.source.eventId ?? '';
      tasksByEvent.set(id, [...(tasksByEvent.get(id) ?? []), task.status]);
    }
    const deliveries = sender.deliveries;
    const acked = deliveries.filter((d) => d.acked);
    const processed = deliveries.filter((d) => tasksByEvent.get(d.eventId)?.includes('succeeded'));
    const lostEvents = deliveries.filter(
      (d) => !d.acked || !tasksByEvent.get(d.eventId)?.includes('succeeded'),
    );
    const duplicates = tasks.length - tasksByEvent.size;
    const githubBooks = await github.books(async (id) => (await store.getTask(id))?.status);
    const replied = deliveries.filter((d) => (standIns.repliesByThread.get(d.threadTs) ?? 0) > 0).length;
    const repliedTwice =
      deliveries.filter((d) => (standIns.repliesByThread.get(d.threadTs) ?? 0) > 1).length +
      githubBooks.repliedMoreThanOnce;

    // Requests that arrived while the store was down and were answered before it came back.
    const { from, to } = windows.storeDown;
    const duringOutage = deliveries
      .flatMap((d) => d.attempts)
      .filter((a) => a.sentAt >= from && a.answeredAt <= to);
    const outageStatuses: Record<string, number> = {};
    for (const a of duringOutage) outageStatuses[a.status] = (outageStatuses[a.status] ?? 0) + 1;
    const ackedDuringOutage = duringOutage.filter((a) => a.status >= 200 && a.status < 300).length;
    const answered503 = outageStatuses['503'] ?? 0;

    const retried = deliveries.filter((d) => d.attempts.length > 1).length;
    say(
      `details: ${JSON.stringify({
        tasks: tasks.length,
        retried_deliveries: retried,
        store_outage_answers: outageStatuses,
        replied,
        replied_more_than_once: repliedTwice,
        chats,
        model_calls: standIns.modelCalls,
        failed_tasks: tasks.filter((t) => t.status === 'failed').length,
        github: {
          events: githubBooks.events,
          first_answers: Object.fromEntries(
            [...new Set(github.events.map((e) => e.firstStatus))].map((s) => [
              s,
              github.events.filter((e) => e.firstStatus === s).length,
            ]),
          ),
          redelivery_asks: github.deliveries.asked.length,
          lost: githubBooks.lost
            .slice(0, 5)
            .map((e) => ({ guid: e.guid, first: e.firstStatus, task: e.taskId })),
          unmatched: github.api.unmatched.slice(0, 5),
        },
        lost_examples: lostEvents.slice(0, 5).map((d) => ({
          id: d.eventId,
          attempts: d.attempts.map((a) => a.status),
          tasks: tasksByEvent.get(d.eventId) ?? [],
        })),
      })}`,
    );
    const problems: string[] = [];
    if (lostEvents.length) problems.push(`${lostEvents.length} events lost`);
    if (githubBooks.lost.length) problems.push(`${githubBooks.lost.length} GitHub events lost`);
    if (githubBooks.redelivered === 0)
      problems.push(
        'no GitHub event was redelivered (none refused during the store outage, or the job did not run)',
      );
    if (repliedTwice) problems.push(`${repliedTwice} threads got more than one reply`);
    if (duplicates) problems.push(`${duplicates} duplicate tasks`);
    if (ackedDuringOutage) problems.push(`${ackedDuringOutage} requests acked while the store was down`);
    if (answered503 === 0) problems.push('no request was answered 503 while the store was down');
    if (!standIns.modelOutageOver()) problems.push('the model outage never ended');
    if (standIns.modelCalls.failed === 0)
      say('note: no model call was made during the model outage (is a model configured in this build?)');
    for (const problem of problems) say(`FAILED: ${problem}`);
    process.stdout.write(
      `${JSON.stringify({
        suite: 'faults',
        events: deliveries.length + githubBooks.events,
        acked: acked.length + githubBooks.acked,
        processed: processed.length + githubBooks.processed,
        lost: lostEvents.length + githubBooks.lost.length,
        duplicates,
        replied_more_than_once: repliedTwice,
        github_redelivered: githubBooks.redelivered,
      })}\n`,
    );
    return problems.length ? 1 : 0;
  } finally {
    for (const p of processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(processes.map((p) => p.exited)), sleep(30_000)]);
    for (const p of processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await store.close().catch(() => undefined);
    await standIns.close();
    await github.close();
    await services.down();
    log.end();
  }
}

process.exitCode = await main().catch((error: unknown) => {
  say(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
});
