/**
 * `deckhand start`: the HTTP port, the worker, and periodic purges, in one process. SIGTERM/SIGINT
 * stop it cleanly: stop accepting requests, stop claiming, finish or release running tasks.
 */
import type { Server } from 'node:http';
import { z } from 'zod';
import {
  acknowledgeReceipt,
  connectAdapters,
  createEventHandler,
  createHttpApp,
  createSinkFactory,
  createWorker,
  digestChannelsOf,
  instrumentCodeRunner,
  listen,
  type Metrics,
  platformAdapters,
  recordDigestFired,
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
  const sinkFor = createSinkFactory({ config, logger: log, adapters, threads: runtime.store });
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

/** The HTTP app (platform routes, probes, /metrics, /admin) listening on PORT. */
async function serveHttp({ config, log, runtime }: StartContext, { metrics, adapters }: Platform) {
  const { app } = createHttpApp({
    config,
    store: runtime.store,
    pipeline: runtime.pipeline,
    logger: log,
    metrics,
    adapters,
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
): Promise<Connections | undefined> {
  const connections =
    role === 'worker'
      ? undefined
      : await connectAdapters(adapters, (event) => runtime.pipeline.ingest(event));
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
 * Stops in this order: the HTTP port (no new requests), the chat connections, the worker (no new
 * claims; running tasks finish or are released), the scheduler, then the runtime (store, Redis, sandbox).
 */
async function shutDown(
  { config, log, runtime }: StartContext,
  parts: {
    server: Server;
    connections: Connections | undefined;
    worker: Worker;
    scheduler: Scheduler | undefined;
  },
): Promise<void> {
  const { server } = parts;
  // close() waits for every connection; platforms keep theirs alive (65 s here), so close each one
  // as soon as its in-flight request is answered, and all of them after 10 s.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const cutoff = setTimeout(() => server.closeAllConnections(), 10_000);
  await closed;
  clearInterval(idle);
  clearTimeout(cutoff);
  await parts.connections?.stop();
  await parts.worker.stop(Math.min(config.tasks.leaseMs, 30_000));
  await parts.scheduler?.stop();
  await runtime.close();
  log.info('stopped');
}

export async function startCommand(options: { role?: string } = {}): Promise<number> {
  const config = loadConfig();
  const role = resolveRole(options.role);
  const log = createLogger({ level: config.log.level }).child({ role });
  const context: StartContext = { config, role, log, runtime: await openRuntime(config, log) };
  const platform = composePlatform(context);
  const worker = buildWorker(context, platform);
  const server = await serveHttp(context, platform);
  // A worker still listens: /healthz, /readyz and /metrics are what its probes and Prometheus use.
  if (role !== 'web') worker.start();
  const connections = await connectChats(context, platform);
  const scheduler = await startScheduler(context, platform);

  const signal = await waitForSignal();
  log.info({ signal }, 'shutting down: no new requests or tasks; finishing running ones');
  await shutDown(context, { server, connections, worker, scheduler });
  return 0;
}
