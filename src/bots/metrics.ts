/**
 * Prometheus metrics. `createMetrics()` builds a fresh registry (tests and each HTTP app get their
 * own); `sharedMetrics()` is the one a `deckhand start` process exposes on /metrics, and the record*
 * functions below are what other parts call (the model layer, the scheduler) without holding a handle.
 * Label values are bounded: a `route` is a route template we registered, never a request's path, and
 * /metrics itself can be closed with a bearer token (DECKHAND_METRICS_TOKEN).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The `route` label of a request that matched none of the known route templates. */
export const OTHER_ROUTE = 'other';

/**
 * The `route` label for a request: the template Express matched (`req.route.path`) when it is one of
 * `known`, else OTHER_ROUTE. Routing is case-insensitive, so the raw path would make a series per
 * spelling (and per 404); the template does not.
 */
export function routeLabel(matched: { path?: unknown } | undefined, known: readonly string[]): string {
  const template = matched?.path;
  return typeof template === 'string' && known.includes(template) ? template : OTHER_ROUTE;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether an Authorization header carries `Bearer <token>`; compared in constant time. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  // Hashing first makes both sides the same length, so the comparison time says nothing about either.
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** GET /metrics: the registry as Prometheus text; with `token` set, only for `Authorization: Bearer <token>`. */
export function metricsHandler(metrics: Metrics, token: string | undefined): RequestHandler {
  return async (req, res, next) => {
    if (token && !bearerMatches(req.get('authorization'), token)) {
      res.status(401).set('www-authenticate', 'Bearer realm="metrics"').json({
        error: 'UNAUTHORIZED',
        message: 'GET /metrics needs Authorization: Bearer <DECKHAND_METRICS_TOKEN>.',
      });
      return;
    }
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  };
}

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'deckhand_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'deckhand_ingress_requests_total',
      help: 'Platform requests by route and HTTP status',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    events: new Counter({
      name: 'deckhand_events_total',
      help: 'Platform events by outcome: received (verified and parsed), rejected (refused before a task), deduplicated (a redelivery), unavailable (store down, answered 503), journaled (store down or slow, kept in the local journal and acked)',
      labelNames: ['platform', 'outcome'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'deckhand_ingress_duplicates_total',
      help: 'Redelivered events recognised by their delivery key',
      labelNames: ['platform'] as const,
      registers,
    }),
    ackSeconds: new Histogram({
      name: 'deckhand_ingress_ack_seconds',
      help: 'Time from request to ack, verification and durable task included',
      labelNames: ['route'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 3],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'deckhand_queue_depth',
      help: 'Tasks by status (queued, running), read from the store when scraped',
      labelNames: ['status'] as const,
      registers,
    }),
    taskSeconds: new Histogram({
      name: 'deckhand_task_duration_seconds',
      help: 'One task attempt from claim to outcome',
      labelNames: ['kind', 'outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    tasksActive: new Gauge({
      name: 'deckhand_tasks_active',
      help: 'Task attempts this process is running now',
      registers,
    }),
    sandboxSeconds: new Histogram({
      name: 'deckhand_sandbox_duration_seconds',
      help: 'Sandbox runs, container preparation included, by language and outcome',
      labelNames: ['lang', 'outcome'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 120],
      registers,
    }),
    modelTokens: new Counter({
      name: 'deckhand_model_tokens_total',
      help: 'Model tokens by provider, model and direction (in, out)',
      labelNames: ['provider', 'model', 'direction'] as const,
      registers,
    }),
    modelCostUsd: new Counter({
      name: 'deckhand_model_cost_usd_total',
      help: 'Estimated model spend in US dollars by provider, model and workspace',
      labelNames: ['provider', 'model', 'workspace'] as const,
      registers,
    }),
    modelCalls: new Counter({
      name: 'deckhand_model_calls_total',
      help: 'Model API calls by provider, model and outcome (ok, error)',
      labelNames: ['provider', 'model', 'outcome'] as const,
      registers,
    }),
    githubRedeliveries: new Counter({
      name: 'deckhand_github_redeliveries_total',
      help: 'Failed GitHub webhooks Deckhand asked GitHub to deliver again, by outcome (requested, failed: GitHub refused)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    digests: new Counter({
      name: 'deckhand_digests_fired_total',
      help: 'Scheduled digests by outcome (posted, skipped, failed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

let shared: Metrics | undefined;
/** The process-wide metrics `deckhand start` serves on /metrics. */
export function sharedMetrics(): Metrics {
  shared ??= createMetrics();
  return shared;
}

/** Polls the queue's depth on each scrape (never more than once per `minIntervalMs`). */
export function watchQueueDepth(
  metrics: Metrics,
  countTasks: (filter: { status: 'queued' | 'running' }) => Promise<number>,
  minIntervalMs = 5000,
): void {
  let last = 0;
  const gauge = metrics.queueDepth;
  const collect = async () => {
    if (Date.now() - last < minIntervalMs) return;
    last = Date.now();
    const [queued, running] = await Promise.all([
      countTasks({ status: 'queued' }),
      countTasks({ status: 'running' }),
    ]).catch(() => [undefined, undefined]); // store down: keep the last value rather than fail the scrape
    if (queued !== undefined) gauge.set({ status: 'queued' }, queued);
    if (running !== undefined) gauge.set({ status: 'running' }, running);
  };
  // prom-client calls collect() of a metric before serialising it.
  (gauge as unknown as { collect?: () => Promise<void> }).collect = collect;
}

export interface ModelUsage {
  provider: string;
  model: string;
  /** Slack team, Discord guild or GitHub installation the call was made for. */
  workspaceId?: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  ok?: boolean;
}

/** Call once per model API call (the model layer). */
export function recordModelUsage(usage: ModelUsage, metrics: Metrics = sharedMetrics()): void {
  const { provider, model } = usage;
  metrics.modelCalls.inc({ provider, model, outcome: usage.ok === false ? 'error' : 'ok' });
  if (usage.tokensIn > 0) metrics.modelTokens.inc({ provider, model, direction: 'in' }, usage.tokensIn);
  if (usage.tokensOut > 0) metrics.modelTokens.inc({ provider, model, direction: 'out' }, usage.tokensOut);
  if (usage.costUsd > 0)
    metrics.modelCostUsd.inc({ provider, model, workspace: usage.workspaceId ?? 'unknown' }, usage.costUsd);
}

/** Call once per scheduled digest run (the scheduler). */
export function recordDigestFired(
  outcome: 'posted' | 'skipped' | 'failed',
  metrics: Metrics = sharedMetrics(),
): void {
  metrics.digests.inc({ outcome });
}

/** Call once per GitHub redelivery asked for (the redelivery job). */
export function recordGitHubRedelivery(
  outcome: 'requested' | 'failed',
  metrics: Metrics = sharedMetrics(),
): void {
  metrics.githubRedeliveries.inc({ outcome });
}

/** Sandbox outcome label from a run result. */
export function sandboxOutcome(result: { exitCode: number | null; timedOut: boolean; oomKilled: boolean }) {
  if (result.timedOut) return 'timeout';
  if (result.oomKilled) return 'oom';
  return result.exitCode === 0 ? 'ok' : 'nonzero';
}

/** Wraps a code runner so every run is timed and counted. */
export function instrumentCodeRunner<
  R extends {
    run(request: { lang: string }): Promise<{
      exitCode: number | null;
      timedOut: boolean;
      oomKilled: boolean;
      durationMs: number;
    }>;
  },
>(runner: R, metrics: Metrics = sharedMetrics()): R {
  const run = runner.run.bind(runner);
  const wrapped = async (request: Parameters<R['run']>[0]) => {
    try {
      const result = await run(request);
      metrics.sandboxSeconds.observe(
        { lang: request.lang, outcome: sandboxOutcome(result) },
        result.durationMs / 1000,
      );
      return result;
    } catch (error) {
      metrics.sandboxSeconds.observe({ lang: request.lang, outcome: 'error' }, 0);
      throw error;
    }
  };
  return Object.assign(Object.create(runner) as R, { run: wrapped });
}
