/**
 * `deckhand start`: the HTTP port, the worker, and periodic purges, in one process. SIGTERM/SIGINT
 * stop it cleanly: stop accepting requests, stop claiming, finish or release running tasks within
 * tasks.shutdownGraceMs (10 s), close every connection, and exit 0.
 */
import type { Server } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  acknowledgeReceipt,
  connectAdapters,
  createEventHandler,
  createHttpApp,
  createSinkFactory,
  createWorker,
  digestChannelsOf,
  IngestJournal,
  instrumentCodeRunner,
  JOURNAL_DEADLINE_MS,
  journaledIngest,
  listen,
  type Metrics,
  platformAdapters,
  recordDigestFired,
  recordGitHubRedelivery,
  type SinkFactory,
  sharedMetrics,
  watchQueueDepth,
} from '../bots/index.js';
import type { Config, Logger, NormalizedEvent, PlatformAdapter } from '../core/index.js';
import { createLogger, DeckhandError, loadConfig } from '../core/index.js';
import { createGitHubWork, sinkClientFor } from '../github/index.js';
import { createDockerClient, dockerConfigured, reapOrphans } from '../runners/index.js';
import {
  digestSummariser,
  githubOctokitFor,
  jobsDashboardRouter,
  type Scheduler,
  schedulerFromConfig,
} from '../scheduler/index.js';
import { openRuntime, type Runtime } from './runtime.js';
import { closeHttpServer, exitOnceClosed, within } from './shutdown.js';

/** web: serve requests only (stateless, scale freely); worker: run tasks only; all: both. */
export const ROLES = ['web', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];

/** `--role` wins over DECKHAND_ROLE; neither means `all` (one box). */
export function resolveRole(flag: string | undefined, env = process.env): Role {
  const given = flag ?? env.DECKHAND_ROLE ?? 'all';
  const parsed = z.enum(ROLES).safeParse(given);
  if (!parsed.success) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `Unknown role "${given}": use --role web, --role worker or --role all (or DECKHAND_ROLE).`,
    );
  }
  return parsed.data;
}

/** What every step below shares: the config, the role, the logger and the opened runtime. */
interface StartContext {
  config: Config;
  role: Role;
  log: Logger;
  runtime: Runtime;
}

/** The platform side: metrics, one adapter per platform, and the reply sink each event gets. */
interface Platform {
  metrics: Metrics;
  adapters: PlatformAdapter[];
  sinkFor: SinkFactory;
}

type Worker = ReturnType<typeof createWorker>;
type Connections = Awaited<ReturnType<typeof connectAdapters>>;

/** The one message a user sees when their task gave up, on the platform it came from. */
function giveUpNotice(sinkFor: SinkFactory) {
  return async (task: { payload: unknown }, message: string) => {
    await sinkFor(task.payload as NormalizedEvent).post(`I could not finish that: ${message}`);
  };
}

/** Metrics (with the queue depth gauge), every platform as one adapter object, and the reply sinks. */
function composePlatform({ config, log, runtime }: StartContext): Platform {
  const metrics = sharedMetrics();
  watchQueueDepth(metrics, (filter) => runtime.store.countTasks(filter));
  // GitHub App (or GITHUB_TOKEN): tracking comments and the mention handler share its clients.
  const githubAccess = runtime.githubAccess;
  // Every platform as one adapter object: routes, connections, reply sinks, digest channels.
  const adapters = platformAdapters({
    config,
    logger: log,
    store: runtime.store,
    ...(githubAccess
      ? { githubClientFor: (event: NormalizedEvent) => sinkClientFor(githubAccess, event.workspaceId) }
      : {}),
  });
  // anchors: a retried task edits the Slack/Discord messages it posted (src/bots/reply-keys.ts).
  const sinkFor = createSinkFactory({
    config,
    logger: log,
    adapters,
    threads: runtime.store,
    anchors: runtime.store,
  });
  return { metrics, adapters, sinkFor };
}

/** The worker that claims tasks and runs them through the event handler (not started yet). */
function buildWorker({ config, log, runtime }: StartContext, { metrics, sinkFor }: Platform): Worker {
  const githubAccess = runtime.githubAccess;
  return createWorker({
    store: runtime.store,
    pipeline: runtime.pipeline,
    concurrency: config.tasks.concurrency,
    leaseMs: config.tasks.leaseMs,
    logger: log,
    metrics,
    handler: createEventHandler({
      store: runtime.store,
      sinkFor,
      rateLimits: runtime.rateLimits,
      logger: log,
      digestMinIntervalMinutes: config.digests.minIntervalMinutes,
      // Who may do what (src/core/policy.ts); on GitHub a role is the repository permission.
      access: runtime.access,
      ...(runtime.linker ? { linker: runtime.linker } : {}),
      approvalTimeoutMs: config.access.approvalTimeoutMinutes * 60_000,
      ...(runtime.codeRunner ? { codeRunner: instrumentCodeRunner(runtime.codeRunner, metrics) } : {}),
      ...(runtime.orchestrator ? { orchestrator: runtime.orchestrator } : {}),
      // Mentions on GitHub: reviews and pull requests; the model's agent makes changes and reviews
      // when one is configured, otherwise a script in the mention does.
      ...(githubAccess
        ? {
            github: createGitHubWork({
              access: githubAccess,
              settings: config.github,
              runner: runtime.codeRunner,
              installer: runtime.dependencyInstaller,
              agent: runtime.agent?.workspaceAgent,
              reviewer: runtime.agent?.reviewer,
              store: runtime.store,
              logger: log,
              // A change or review is `repo.write` for its author, decided by the same policy.
              policy: runtime.access,
              approvals: {
                port: runtime.store,
                timeoutMs: config.access.approvalTimeoutMinutes * 60_000,
              },
            }),
          }
        : {}),
    }),
    onGiveUp: giveUpNotice(sinkFor),
  });
}

/**
 * A serving process's ingest journal (src/bots/journal.ts): Discord interactions and chat-connection
 * events the store does not take in time wait there, on disk, and are replayed into it every
 * journal.replayIntervalMs (at once for what an earlier process left). A worker-only process has none.
 */
async function openJournal({ config, role, log, runtime }: StartContext) {
  if (role === 'worker') return undefined;
  const dir = config.journal.dir || join(homedir(), '.local', 'state', 'deckhand', 'journal');
  const journal = await IngestJournal.open({
    dir,
    maxBytes: config.journal.maxMb * 1024 * 1024,
    logger: log,
  });
  const stopReplaying = journal.replayEvery(runtime.pipeline.ingest, config.journal.replayIntervalMs);
  return { journal, stopReplaying };
}
type Journal = Awaited<ReturnType<typeof openJournal>>;

/** The HTTP app (platform routes, probes, /metrics, /admin) listening on PORT. */
async function serveHttp(
  { config, log, runtime }: StartContext,
  { metrics, adapters }: Platform,
  journal: Journal,
) {
  const { app } = createHttpApp({
    config,
    store: runtime.store,
    pipeline: runtime.pipeline,
    logger: log,
    metrics,
    adapters,
    ...(journal ? { journal: journal.journal } : {}),
    ...(runtime.redis ? { redisPing: () => runtime.redis!.ping() } : {}),
    ...(config.secrets.DECKHAND_ADMIN_TOKEN ? { jobsDashboard: jobsDashboardRouter(runtime.store) } : {}),
  });
  const server = await listen(app, config.port);
  const address = server.address();
  log.info(
    { port: typeof address === 'object' && address ? address.port : config.port },
    'Deckhand is listening',
  );
  return server;
}

/**
 * Serving processes also hold Slack Socket Mode / the Discord gateway, and mark each accepted chat
 * message as being worked on (👀) the moment its task is durable. A worker-only process does neither.
 */
async function connectChats(
  { role, log, runtime }: StartContext,
  { adapters, sinkFor }: Platform,
  journal: Journal,
): Promise<Connections | undefined> {
  // Gateway messages and Socket Mode envelopes are not sent again either: journaled like interactions.
  const ingest = journal
    ? journaledIngest(runtime.pipeline.ingest, journal.journal, JOURNAL_DEADLINE_MS)
    : (event: NormalizedEvent) => runtime.pipeline.ingest(event);
  const connections = role === 'worker' ? undefined : await connectAdapters(adapters, ingest);
  if (role !== 'worker') runtime.pipeline.onTask(acknowledgeReceipt(sinkFor, log, adapters));
  return connections;
}

/**
 * Digests and periodic jobs (purges, expired-lease sweep, container reaping) on Agenda, started.
 * Any number of processes may run it: each due digest is claimed by exactly one (src/scheduler).
 * A web-only process runs none.
 */
async function startScheduler(
  { config, role, log, runtime }: StartContext,
  { metrics, adapters, sinkFor }: Platform,
): Promise<Scheduler | undefined> {
  if (role === 'web') return undefined;
  const githubAccess = runtime.githubAccess;
  const scheduler = await schedulerFromConfig({
    config,
    store: runtime.store,
    logger: log,
    channels: digestChannelsOf(adapters),
    onOutcome: (outcome) => recordDigestFired(outcome, metrics),
    // Failed GitHub webhooks asked for again (the App's, or configured repository hooks).
    onGitHubRedelivery: (outcome) => recordGitHubRedelivery(outcome, metrics),
    ...(runtime.redis ? { redis: runtime.redis } : {}),
    // Activity through the same GitHub access as mentions (App installation or GITHUB_TOKEN).
    ...(githubAccess ? { octokitFor: githubOctokitFor(githubAccess) } : {}),
    // A model-written opening when a model is configured; the plain template otherwise.
    ...(runtime.agent ? { summarise: digestSummariser(runtime.agent) } : {}),
    ...(dockerConfigured() ? { reapContainers: () => reapOrphans(createDockerClient(), log) } : {}),
    onTaskGaveUp: giveUpNotice(sinkFor),
  });
  await scheduler.start();
  return scheduler;
}

/** The first SIGTERM or SIGINT. */
function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * Stops a scheduler within `ms`: Agenda waits for its running jobs (its own bound is 30 s), and a
 * digest still posting keeps its lease for another process to take over.
 */
async function stopScheduler(scheduler: Scheduler | undefined, ms: number, log: Logger): Promise<void> {
  if (!scheduler) return;
  if ((await within(scheduler.stop(), ms)) === 'timeout')
    log.warn({ waitedMs: ms }, 'scheduler still stopping; closing anyway (its jobs are safe to run twice)');
}

/**
 * After the signal, everything that takes work in stops at once, together: the worker claims nothing
 * more (running tasks get `tasks.shutdownGraceMs` to finish, then go back to the queue), the HTTP port
 * accepts no connection (requests in flight are answered, keep-alive sockets closed), the chat
 * connections close, the scheduler stops. Then the runtime (store, Redis, sandbox, model clients).
 * Says how many tasks were finished and released.
 */
async function shutDown(
  { config, log, runtime }: StartContext,
  parts: {
    server: Server;
    connections: Connections | undefined;
    worker: Worker;
    scheduler: Scheduler | undefined;
    journal: Journal;
  },
  signal: NodeJS.Signals,
): Promise<void> {
  const started = Date.now();
  const graceMs = config.tasks.shutdownGraceMs;
  const [tasks] = await Promise.all([
    parts.worker.stop(graceMs),
    closeHttpServer(parts.server, graceMs),
    parts.connections?.stop(),
    stopScheduler(parts.scheduler, graceMs + 1000, log),
    // What is still journaled stays on disk for the next start to replay.
    parts.journal?.stopReplaying(),
  ]);
  if ((await within(runtime.close(), CLOSE_RUNTIME_MS)) === 'timeout')
    log.warn({ waitedMs: CLOSE_RUNTIME_MS }, 'store or Redis did not close in time');
  log.info(
    { signal, ...tasks, graceMs, ms: Date.now() - started },
    `stopped: ${tasks.finished} running tasks finished, ${tasks.released} released to the queue`,
  );
}

/** Closing the store, Redis and the sandbox is quick; a store that does not answer must not hold the stop. */
const CLOSE_RUNTIME_MS = 5000;

export async function startCommand(options: { role?: string } = {}): Promise<number> {
  const config = loadConfig();
  const role = resolveRole(options.role);
  const log = createLogger({ level: config.log.level }).child({ role });
  const context: StartContext = { config, role, log, runtime: await openRuntime(config, log) };
  const platform = composePlatform(context);
  const worker = buildWorker(context, platform);
  const journal = await openJournal(context);
  const server = await serveHttp(context, platform, journal);
  // A worker still listens: /healthz, /readyz and /metrics are what its probes and Prometheus use.
  if (role !== 'web') worker.start();
  const connections = await connectChats(context, platform, journal);
  const scheduler = await startScheduler(context, platform);

  const signal = await waitForSignal();
  log.info(
    { signal, graceMs: config.tasks.shutdownGraceMs },
    'shutting down: no new requests or tasks; finishing running ones',
  );
  await shutDown(context, { server, connections, worker, scheduler, journal }, signal);
  exitOnceClosed(log, 0);
  return 0;
}
