/**
 * The one HTTP port: each platform adapter's signed routes (Slack events, GitHub webhooks, Discord
 * interactions) and pages, plus health, readiness, metrics and the admin page. Every platform route
 * verifies the signature over the raw body before anything else, records the task durably, then
 * acks the way its adapter says; it never waits for a model and never asks which platform it serves.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import {
  type Config,
  DeckhandError,
  type IngressRoute,
  ingressErrorResponse,
  type Logger,
  MAX_BODY_BYTES,
  type NormalizedEvent,
  type PlatformAdapter,
  type RequestHeaders,
  withLogContext,
} from '../core/index.js';
import type { Store } from '../store/index.js';
import { platformAdapters } from './adapters.js';
import { createAdminRouter } from './admin/index.js';
import { type IngestJournal, isStoreUnavailable, journaledIngest } from './journal.js';
import { createMetrics, type Metrics, metricsHandler, routeLabel } from './metrics.js';
import type { Pipeline } from './pipeline.js';

export interface ServerDeps {
  config: Config;
  store: Store;
  pipeline: Pipeline;
  logger: Logger;
  /** Readiness of Redis, when one is configured. */
  redisPing?: () => Promise<unknown>;
  /** The process's metrics (shared with the worker); a fresh registry when omitted. */
  metrics?: Metrics;
  /** agendash for the scheduler's jobs, mounted at /admin/jobs/ behind the admin token. */
  jobsDashboard?: Router;
  /** The platforms served (routes, pages); default: every adapter, configured from `config`. */
  adapters?: readonly PlatformAdapter[];
  /**
   * Where events of `journaled` routes (platforms that never send again) go when the store does not
   * answer within JOURNAL_DEADLINE_MS; without it they are answered 503 like the others.
   */
  journal?: IngestJournal;
}

/** A journaled route's store deadline: Discord's 3 s, less the time to verify, answer and travel. */
export const JOURNAL_DEADLINE_MS = 1500;

/**
 * Slack drops a request it has not seen acked within 3 s and retries it; when the store is slow or
 * down, answering 503 first keeps the answer ours. The write may still land: the retry is deduped.
 */
export const ACK_DEADLINE_MS = 2500;

function withinAckDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new DeckhandError('STORE_UNREACHABLE', 'The task store did not answer in time.')),
      ACK_DEADLINE_MS,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function headersOf(req: Request): RequestHeaders {
  const out: RequestHeaders = {};
  for (const [key, value] of Object.entries(req.headers))
    out[key] = Array.isArray(value) ? value.join(',') : value;
  return out;
}

/** The signed platform routes by path, each with the platform its adapter serves. */
type RouteTable = Map<string, { route: IngressRoute; platform: string }>;

function routeTable(adapters: readonly PlatformAdapter[]): RouteTable {
  const routes: RouteTable = new Map();
  for (const adapter of adapters) {
    for (const route of adapter.routes) routes.set(route.path, { route, platform: adapter.platform });
  }
  return routes;
}

/** One signed route: accept (verify + parse), record the task within the ack deadline, ack. */
function platformRoute(
  path: string,
  route: IngressRoute,
  pipeline: Pipeline,
  metrics: Metrics,
  journal: IngestJournal | undefined,
) {
  const ingest =
    route.journaled && journal
      ? journaledIngest(pipeline.ingest, journal, JOURNAL_DEADLINE_MS)
      : (event: NormalizedEvent) => withinAckDeadline(pipeline.ingest(event));
  return async (req: Request, res: Response, next: NextFunction) => {
    const stop = metrics.ackSeconds.startTimer({ route: path });
    try {
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const headers = headersOf(req);
      const outcome = await route.accept(rawBody, headers);
      if (outcome.kind === 'respond') {
        res.status(outcome.status).json(outcome.body);
      } else if (outcome.kind === 'ignore') {
        res.status(route.ignoredStatus ?? 200).json({ ignored: outcome.reason });
      } else {
        const platform = outcome.event.platform;
        metrics.events.inc({ platform, outcome: 'received' });
        const recorded = await ingest(outcome.event);
        const { taskId, duplicate } = recorded;
        if ('journaled' in recorded) metrics.events.inc({ platform, outcome: 'journaled' });
        if (duplicate) {
          metrics.duplicates.inc({ platform });
          metrics.events.inc({ platform, outcome: 'deduplicated' });
        }
        const ack = route.ack({ taskId, duplicate, headers });
        if (ack.body === undefined) res.status(ack.status).end();
        else res.status(ack.status).json(ack.body);
      }
      metrics.requests.inc({ route: path, status: String(res.statusCode) });
      stop();
    } catch (error) {
      next(error);
    }
  };
}

/** /readyz: the store, and Redis when one is configured. */
function readiness(deps: ServerDeps) {
  return async (_req: Request, res: Response) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.ping();
      checks.store = 'ok';
    } catch (error) {
      checks.store = `unreachable: ${(error as Error).message}`;
    }
    if (deps.redisPing) {
      try {
        await deps.redisPing();
        checks.redis = 'ok';
      } catch (error) {
        checks.redis = `unreachable: ${(error as Error).message}`;
      }
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ ok, checks });
  };
}

/**
 * Errors from body parsing (413), verification (401/503), parsing (400); anything else is a 500
 * whose detail stays in the log. A refused request has created nothing by this point.
 */
function errorAnswer(routes: RouteTable, metrics: Metrics, log: Logger) {
  const platformOfRoute = (path: string) => routes.get(path)?.platform ?? 'unknown';
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const typed = error as { type?: string; status?: number };
    // Labels name the matched route template, never req.path (case variants, 404 paths: unbounded).
    const route = routeLabel(req.route, [...routes.keys()]);
    let answer = ingressErrorResponse(error);
    if (typed.type === 'entity.too.large' || typed.status === 413) {
      answer = {
        status: 413,
        body: {
          error: 'PAYLOAD_TOO_LARGE',
          message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`,
        },
      };
    } else if (answer.status === 500 && isStoreUnavailable(error)) {
      // Nothing was acked: a 503 makes Slack, GitHub and Discord deliver the event again later.
      log.warn({ err: error, path: req.path }, 'store unavailable; answered 503 so the platform retries');
      res.set('retry-after', '5');
      answer = {
        status: 503,
        body: { error: 'STORE_UNREACHABLE', message: 'Deckhand cannot record this event right now; retry.' },
      };
      metrics.events.inc({ platform: platformOfRoute(route), outcome: 'unavailable' });
    } else if (answer.status === 500) {
      log.error({ err: error, path: req.path }, 'request failed');
    }
    if (answer.status >= 400 && answer.status < 500 && routes.has(route))
      metrics.events.inc({ platform: platformOfRoute(route), outcome: 'rejected' });
    metrics.requests.inc({ route, status: String(answer.status) });
    res.status(answer.status).json(answer.body);
  };
}

export function createHttpApp(deps: ServerDeps) {
  const { config, pipeline, logger: log } = deps;
  const secrets = config.secrets;
  const metrics: Metrics = deps.metrics ?? createMetrics();
  const app = express();
  app.disable('x-powered-by');
  // Every log line written while serving a request carries its id (the caller's X-Request-Id if sane).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const requestId = given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    res.set('x-request-id', requestId);
    withLogContext({ requestId }, next);
  });
  // Each adapter's pages (Slack's OAuth install routes, when configured), then its signed routes.
  const adapters = deps.adapters ?? platformAdapters({ config, store: deps.store, logger: log });
  for (const adapter of adapters) if (adapter.pages) app.use(adapter.pages);
  const raw = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  const routes = routeTable(adapters);
  for (const [path, { route }] of routes)
    app.post(path, raw, platformRoute(path, route, pipeline, metrics, deps.journal));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', readiness(deps));
  // Closed with DECKHAND_METRICS_TOKEN when set (401 without `Authorization: Bearer <token>`).
  app.get('/metrics', metricsHandler(metrics, secrets.DECKHAND_METRICS_TOKEN));
  app.use(
    '/admin',
    createAdminRouter({
      store: deps.store,
      token: secrets.DECKHAND_ADMIN_TOKEN,
      logger: log,
      ...(deps.jobsDashboard ? { jobsDashboard: deps.jobsDashboard } : {}),
    }),
  );
  app.use(errorAnswer(routes, metrics, log));
  return { app, metrics };
}

export async function listen(app: express.Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
    server.keepAliveTimeout = 65_000;
  });
}
