/**
 * `deckhand start`: the HTTP port, the worker, and periodic purges, in one process. SIGTERM/SIGINT
 * stop it cleanly: stop accepting requests, stop claiming, finish or release running tasks.
 */

import type { NormalizedEvent } from '../bots/events.js';
import type { ReplySink } from '../bots/reply.js';
import { createEventHandler } from '../bots/router.js';
import { createHttpApp, listen } from '../bots/server.js';
import { createSinkFactory } from '../bots/sinks.js';
import { createWorker } from '../bots/worker.js';
import { createLogger, loadConfig } from '../core/index.js';
import { openRuntime } from './runtime.js';

export async function startCommand(): Promise<number> {
  const config = loadConfig();
  const log = createLogger({ level: config.log.level });
  const runtime = await openRuntime(config, log);
  const sinkFor: (event: NormalizedEvent) => ReplySink = createSinkFactory({ config, logger: log });
  const worker = createWorker({
    store: runtime.store,
    pipeline: runtime.pipeline,
    concurrency: config.tasks.concurrency,
    leaseMs: config.tasks.leaseMs,
    logger: log,
    handler: createEventHandler({
      store: runtime.store,
      sinkFor,
      rateLimits: runtime.rateLimits,
      ...(runtime.codeRunner ? { codeRunner: runtime.codeRunner } : {}),
      ...(runtime.orchestrator ? { orchestrator: runtime.orchestrator } : {}),
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
    ...(runtime.redis ? { redisPing: () => runtime.redis!.ping() } : {}),
  });
  const server = await listen(app, config.port);
  const address = server.address();
  log.info(
    { port: typeof address === 'object' && address ? address.port : config.port },
    'Deckhand is listening',
  );
  // DECKHAND_ROLE=web serves requests only (workers elsewhere), worker only works, all does both.
  const role = process.env.DECKHAND_ROLE ?? 'all';
  if (role !== 'web') worker.start();

  const purge = setInterval(() => {
    const cutoff = new Date(Date.now() - config.tasks.deliveryRetentionHours * 3600_000);
    Promise.all([runtime.store.purgeDeliveries(cutoff), runtime.store.purgeTaskTransitions(cutoff)])
      .then(([deliveries, transitions]) =>
        log.info({ deliveries, transitions }, 'purged old delivery records'),
      )
      .catch((error: unknown) => log.warn({ err: error }, 'purge failed'));
  }, 60 * 60_000);
  purge.unref();

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down: no new requests or tasks; finishing running ones');
  clearInterval(purge);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await worker.stop(Math.min(config.tasks.leaseMs, 30_000));
  await runtime.close();
  log.info('stopped');
  return 0;
}
