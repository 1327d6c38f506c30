/**
 * `deckhand start`: the HTTP port, the worker, and periodic purges, in one process. SIGTERM/SIGINT
 * stop it cleanly: stop accepting requests, stop claiming, finish or release running tasks.
 */

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
  platformAdapters,
  recordDigestFired,
  sharedMetrics,
  watchQueueDepth,
} from '../bots/index.js';
import type { NormalizedEvent, ReplySink } from '../core/index.js';
import { createLogger, DeckhandError, loadConfig } from '../core/index.js';
import { createGitHubActionGate, createGitHubWork, sinkClientFor } from '../github/index.js';
import { createDockerClient, dockerConfigured, reapOrphans } from '../runners/index.js';
import {
  digestSummariser,
  githubOctokitFor,
  jobsDashboardRouter,
  schedulerFromConfig,
} from '../scheduler/index.js';
import { openRuntime } from './runtime.js';

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

export async function startCommand(options: { role?: string } = {}): Promise<number> {
  const config = loadConfig();
  const role = resolveRole(options.role);
  const log = createLogger({ level: config.log.level }).child({ role });
  const runtime = await openRuntime(config, log);
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
  const sinkFor: (event: NormalizedEvent) => ReplySink = createSinkFactory({
    config,
    logger: log,
    adapters,
    threads: runtime.store,
  });
  const worker = createWorker({
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
      // On GitHub, `run`, `cancel` and `digest` need write access to the repository, as changes do.
      actionGate: createGitHubActionGate({ access: githubAccess, store: runtime.store, logger: log }),
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
              agent: runtime.agent?.workspaceAgent,
              reviewer: runtime.agent?.reviewer,
              store: runtime.store,
              logger: log,
            }),
          }
        : {}),
    }),
    onGiveUp: async (task, message) => {
      const event = task.payload as NormalizedEvent;
      await sinkFor(event).post(`I could not finish that: ${message}`);
    },
  });
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
  // A worker still listens: /healthz, /readyz and /metrics are what its probes and Prometheus use.
  if (role !== 'web') worker.start();
  // Serving processes also hold Slack Socket Mode / the Discord gateway, and mark each accepted
  // chat message as being worked on (👀) the moment its task is durable.
  const connections =
    role === 'worker'
      ? undefined
      : await connectAdapters(adapters, (event) => runtime.pipeline.ingest(event));
  if (role !== 'worker') runtime.pipeline.onTask(acknowledgeReceipt(sinkFor, log, adapters));

  // Digests and periodic jobs (purges, expired-lease sweep, container reaping) on Agenda. Any
  // number of processes may run it: each due digest is claimed by exactly one (src/scheduler).
  const scheduler =
    role === 'web'
      ? undefined
      : await schedulerFromConfig({
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
          onTaskGaveUp: async (task, message) => {
            await sinkFor(task.payload as NormalizedEvent).post(`I could not finish that: ${message}`);
          },
        });
  await scheduler?.start();

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down: no new requests or tasks; finishing running ones');
  // close() waits for every connection; platforms keep theirs alive (65 s here), so close each one
  // as soon as its in-flight request is answered, and all of them after 10 s.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const cutoff = setTimeout(() => server.closeAllConnections(), 10_000);
  await closed;
  clearInterval(idle);
  clearTimeout(cutoff);
  await connections?.stop();
  await worker.stop(Math.min(config.tasks.leaseMs, 30_000));
  await scheduler?.stop();
  await runtime.close();
  log.info('stopped');
  return 0;
}
