/**
 * GitHub never redelivers a failed webhook by itself: a delivery our server answered 503 (the store
 * restarting) or did not answer at all is lost unless someone asks again. This periodic job does what
 * GitHub's documentation recommends: it lists the App's recent deliveries (GET /app/hook/deliveries,
 * as the App, with its JWT), groups them by guid (a redelivery keeps its event's guid), and asks
 * GitHub to redeliver (POST /app/hook/deliveries/{id}/attempts) each event none of whose deliveries
 * got a 2xx. Our ingest dedupes on the guid (X-GitHub-Delivery), so a redelivery of an event that did
 * get through after all makes no second task.
 *
 * Bounds: only events first delivered within the window (default 2 h) are considered, and paging
 * stops past it; an event is asked for at most once per cooldown, remembered in the store (a unique
 * insert with an expiry; the TTL index removes old entries on MongoDB) or in Redis (SET NX PX), so two
 * processes running the job at once ask once. An event whose redeliveries keep failing is asked for
 * again each cooldown until its first delivery leaves the window.
 *
 * With a personal token there is no App webhook: GitHub offers the same API per repository hook
 * (GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries, the token needs admin:repo_hook), used when
 * the hooks are configured (`github.redelivery.repositoryHooks: ["owner/repo:hookId"]`); otherwise a
 * token setup has no redelivery, and events refused while the store was down stay lost.
 */
import { App } from '@octokit/app';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { type Config, DeckhandError, type Logger, registerSecret } from '../core/index.js';
import type { Store } from '../store/index.js';
import { GitHubOctokit, type GitHubOctokitClient, octokitDefaults, throttleId } from './octokit.js';

export interface RedeliverySettings {
  /** Unset: on when a GitHub App is configured (or repository hooks are listed). */
  enabled?: boolean | undefined;
  intervalMinutes: number;
  windowHours: number;
  cooldownMinutes: number;
  /** With a personal token: the repository webhooks to watch, as `owner/repo:hookId`. */
  repositoryHooks: string[];
}

export const DEFAULT_REDELIVERY_SETTINGS: RedeliverySettings = {
  intervalMinutes: 5,
  windowHours: 2,
  cooldownMinutes: 15,
  repositoryHooks: [],
};

/** Whose webhook deliveries are listed: the App's, or one repository hook's. */
export type DeliverySource =
  | { kind: 'app' }
  | { kind: 'repository'; owner: string; repo: string; hookId: number };

/** One listed delivery, as far as the job reads it (GitHub sends more). */
const deliverySchema = z.object({
  id: z.number(),
  guid: z.string().min(1),
  delivered_at: z.string(),
  redelivery: z.boolean(),
  status_code: z.number(),
  event: z.string().optional(),
  action: z.string().nullish(),
});
export type ListedDelivery = z.infer<typeof deliverySchema>;

/** One event to ask again for: its guid and the delivery id GitHub is asked to redeliver. */
export interface PlannedRedelivery {
  guid: string;
  deliveryId: number;
  event: string | undefined;
  lastStatus: number;
  firstDeliveredAt: Date;
}

/** Remembers which events were asked for, so none is asked twice within the cooldown. */
export interface RedeliveryMemory {
  /** True when `guid` was not asked for within `cooldownMs` (and is now marked as asked). */
  claim(guid: string, cooldownMs: number, now: Date): Promise<boolean>;
}

export type RedeliveryOutcome = 'requested' | 'failed';

/** The App's own client, authenticated with its JWT (the /app endpoints), made as access.ts makes it. */
export type RedeliveryClient = Pick<GitHubOctokitClient, 'request' | 'paginate'>;

export interface RedeliveryOptions {
  client: RedeliveryClient;
  memory: RedeliveryMemory;
  source?: DeliverySource;
  windowMs?: number;
  cooldownMs?: number;
  now?: () => Date;
  logger?: Logger | undefined;
  /** Told once per redelivery asked for (the metric: deckhand_github_redeliveries_total{outcome}). */
  onRedelivery?: ((outcome: RedeliveryOutcome) => void) | undefined;
}

export interface RedeliveryReport {
  listed: number;
  pages: number;
  failedEvents: number;
  requested: number;
  failed: number;
  /** Failed events left alone because they were asked for within the cooldown. */
  coolingDown: number;
}

const is2xx = (code: number) => code >= 200 && code < 300;

/**
 * The events to ask again for among `deliveries`: none of the guid's deliveries got a 2xx, and its
 * first delivery (not a redelivery) was at or after `windowStart`. The newest failed delivery of each
 * is the one asked for (any of them makes GitHub send the same payload with the same guid).
 */
export function planRedeliveries(deliveries: ListedDelivery[], windowStart: Date): PlannedRedelivery[] {
  const byGuid = new Map<string, ListedDelivery[]>();
  for (const delivery of deliveries)
    byGuid.set(delivery.guid, [...(byGuid.get(delivery.guid) ?? []), delivery]);
  const planned: PlannedRedelivery[] = [];
  for (const [guid, all] of byGuid) {
    if (all.some((d) => is2xx(d.status_code))) continue;
    const originals = all.filter((d) => !d.redelivery).map((d) => Date.parse(d.delivered_at));
    // Only redeliveries listed: the first delivery is older than the window.
    if (!originals.length) continue;
    const first = Math.min(...originals);
    if (!(first >= windowStart.getTime())) continue;
    const newest = all.reduce((a, b) => (Date.parse(b.delivered_at) > Date.parse(a.delivered_at) ? b : a));
    planned.push({
      guid,
      deliveryId: newest.id,
      event: newest.event,
      lastStatus: newest.status_code,
      firstDeliveredAt: new Date(first),
    });
  }
  return planned.sort((a, b) => a.firstDeliveredAt.getTime() - b.firstDeliveredAt.getTime());
}

function routesOf(source: DeliverySource) {
  if (source.kind === 'app') {
    return {
      list: 'GET /app/hook/deliveries',
      attempt: 'POST /app/hook/deliveries/{delivery_id}/attempts',
      params: {},
      name: 'app',
    } as const;
  }
  const { owner, repo, hookId } = source;
  return {
    list: 'GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries',
    attempt: 'POST /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts',
    params: { owner, repo, hook_id: hookId },
    name: `${owner}/${repo}:${hookId}`,
  } as const;
}

/** Why GitHub refused the list, in words an operator can act on. */
function listRefused(error: unknown, sourceName: string): unknown {
  const status = (error as { status?: unknown }).status;
  if (status !== 401 && status !== 403 && status !== 404) return error;
  return new DeckhandError(
    'NOT_CONFIGURED',
    sourceName === 'app'
      ? `GitHub refused to list the App's webhook deliveries (HTTP ${status}): check GITHUB_APP_ID and GITHUB_PRIVATE_KEY, and that the App has a webhook.`
      : `GitHub refused to list the webhook deliveries of ${sourceName} (HTTP ${status}): the token needs admin:repo_hook (or the hook id is wrong).`,
    { cause: error },
  );
}

/**
 * The deliveries at or after `windowStart`, newest first, 100 a page, following GitHub's cursor (the
 * Link header); stops after the first page that reaches past the window.
 */
async function listRecent(
  client: RedeliveryClient,
  source: DeliverySource,
  windowStart: Date,
): Promise<{ deliveries: ListedDelivery[]; pages: number }> {
  const routes = routesOf(source);
  const deliveries: ListedDelivery[] = [];
  let pages = 0;
  try {
    const iterator = client.paginate.iterator(routes.list, { ...routes.params, per_page: 100 } as never);
    for await (const response of iterator as AsyncIterable<{ data: unknown }>) {
      pages += 1;
      const page = z.array(deliverySchema).parse(response.data);
      const recent = page.filter((d) => Date.parse(d.delivered_at) >= windowStart.getTime());
      deliveries.push(...recent);
      if (recent.length < page.length || page.length === 0) break;
    }
  } catch (error) {
    throw listRefused(error, routes.name);
  }
  return { deliveries, pages };
}

/** Lists recent deliveries and asks GitHub again for each failed event not asked within the cooldown. */
export function createGitHubRedelivery(options: RedeliveryOptions) {
  const source = options.source ?? { kind: 'app' };
  const routes = routesOf(source);
  const windowMs = options.windowMs ?? DEFAULT_REDELIVERY_SETTINGS.windowHours * 3_600_000;
  const cooldownMs = options.cooldownMs ?? DEFAULT_REDELIVERY_SETTINGS.cooldownMinutes * 60_000;
  const now = options.now ?? (() => new Date());
  const log = options.logger?.child({ component: 'github-redelivery', source: routes.name });

  async function ask(planned: PlannedRedelivery): Promise<RedeliveryOutcome> {
    const fields = {
      guid: planned.guid,
      deliveryId: planned.deliveryId,
      event: planned.event,
      lastStatus: planned.lastStatus,
      firstDeliveredAt: planned.firstDeliveredAt.toISOString(),
    };
    try {
      await options.client.request(routes.attempt, {
        ...routes.params,
        delivery_id: planned.deliveryId,
      } as never);
      log?.info(fields, 'asked GitHub to redeliver a failed webhook');
      return 'requested';
    } catch (error) {
      log?.warn({ ...fields, err: error }, 'GitHub refused to redeliver a failed webhook');
      return 'failed';
    }
  }

  return {
    source,
    async run(): Promise<RedeliveryReport> {
      const at = now();
      const { deliveries, pages } = await listRecent(
        options.client,
        source,
        new Date(at.getTime() - windowMs),
      );
      const planned = planRedeliveries(deliveries, new Date(at.getTime() - windowMs));
      const report: RedeliveryReport = {
        listed: deliveries.length,
        pages,
        failedEvents: planned.length,
        requested: 0,
        failed: 0,
        coolingDown: 0,
      };
      for (const item of planned) {
        if (!(await options.memory.claim(item.guid, cooldownMs, at))) {
          report.coolingDown += 1;
          continue;
        }
        const outcome = await ask(item);
        report[outcome] += 1;
        options.onRedelivery?.(outcome);
      }
      return report;
    },
  };
}
export type GitHubRedelivery = ReturnType<typeof createGitHubRedelivery>;

/** The store collection of asked events: `_id` the guid, `expiresAt` the end of its cooldown. */
export const REDELIVERY_COLLECTION = 'githubRedeliveries';

interface AskedEvent {
  _id: string;
  expiresAt: Date;
}

/**
 * Asked events in the store, on the portable subset: a unique insert claims a guid; an entry whose
 * cooldown is over is claimed again by a conditional update (one writer wins). The TTL index expires
 * entries on MongoDB; FerretDB has no TTL monitor, so each claim round also deletes expired ones.
 */
export function storeRedeliveryMemory(store: Pick<Store, 'db'>): RedeliveryMemory {
  let indexed: Promise<unknown> | undefined;
  let swept = 0;
  const collection = () => store.db.collection<AskedEvent>(REDELIVERY_COLLECTION);
  return {
    async claim(guid, cooldownMs, now) {
      indexed ??= collection()
        .createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })
        .catch(() => undefined);
      await indexed;
      if (now.getTime() - swept > 60_000) {
        swept = now.getTime();
        await collection().deleteMany({ expiresAt: { $lte: now } });
      }
      const expiresAt = new Date(now.getTime() + cooldownMs);
      try {
        await collection().insertOne({ _id: guid, expiresAt });
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 11000) throw error;
      }
      const taken = await collection().updateOne(
        { _id: guid, expiresAt: { $lte: now } },
        { $set: { expiresAt } },
      );
      return taken.modifiedCount === 1;
    },
  };
}

/** Asked events in Redis: SET NX with the cooldown as expiry. */
export function redisRedeliveryMemory(
  redis: Redis,
  prefix = 'deckhand:github:redelivery:',
): RedeliveryMemory {
  return {
    async claim(guid, cooldownMs) {
      return (await redis.set(`${prefix}${guid}`, '1', 'PX', Math.max(1, cooldownMs), 'NX')) === 'OK';
    },
  };
}

/**
 * The App's own client (JWT auth, for the /app endpoints), a GitHubOctokit with the same defaults
 * and throttling identity as the installation clients createGitHubAccess makes.
 */
export function appJwtClient(options: {
  appId: string | number;
  privateKey: string;
  baseUrl?: string | undefined;
  logger?: Logger | undefined;
  redis?: Redis | undefined;
  throttle?: { enabled?: boolean } | undefined;
  retry?: { enabled?: boolean } | undefined;
}): GitHubOctokitClient {
  const app = new App({
    appId: options.appId,
    privateKey: options.privateKey.replace(/\\n/g, '\n'),
    Octokit: GitHubOctokit.defaults(octokitDefaults(options, throttleId(options))),
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  return app.octokit as unknown as GitHubOctokitClient;
}

/** `owner/repo:hookId` as a repository hook source. */
export function parseRepositoryHook(text: string): DeliverySource {
  const match = /^([^/\s:]+)\/([^/\s:]+):(\d+)$/.exec(text.trim());
  if (!match) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      `github.redelivery.repositoryHooks: "${text}" is not owner/repo:hookId (the hook id is in the webhook's settings URL).`,
    );
  }
  return { kind: 'repository', owner: match[1] ?? '', repo: match[2] ?? '', hookId: Number(match[3]) };
}

export interface RedeliveryFromConfigOptions {
  store: Pick<Store, 'db'>;
  redis?: Redis | undefined;
  logger?: Logger | undefined;
  onRedelivery?: RedeliveryOptions['onRedelivery'];
}

/**
 * The redelivery jobs config asks for: the App's webhook when an App is configured, else each listed
 * repository hook through GITHUB_TOKEN; none when off. Says in the log when a token setup has none.
 */
export function githubRedeliveryFromConfig(
  config: Pick<Config, 'secrets' | 'github'>,
  settings: RedeliverySettings,
  options: RedeliveryFromConfigOptions,
): GitHubRedelivery[] {
  const { GITHUB_APP_ID, GITHUB_PRIVATE_KEY, GITHUB_TOKEN } = config.secrets;
  const app = Boolean(GITHUB_APP_ID && GITHUB_PRIVATE_KEY);
  const hooks = settings.repositoryHooks.map(parseRepositoryHook);
  if (settings.enabled === false || (!app && !GITHUB_TOKEN)) return [];
  const memory = options.redis ? redisRedeliveryMemory(options.redis) : storeRedeliveryMemory(options.store);
  const common = {
    memory,
    windowMs: settings.windowHours * 3_600_000,
    cooldownMs: settings.cooldownMinutes * 60_000,
    logger: options.logger,
    onRedelivery: options.onRedelivery,
  };
  const baseUrl = config.github.apiUrl || undefined;
  if (app) {
    const client = appJwtClient({
      appId: GITHUB_APP_ID ?? '',
      privateKey: GITHUB_PRIVATE_KEY ?? '',
      baseUrl,
      logger: options.logger,
      redis: options.redis,
    });
    return [createGitHubRedelivery({ ...common, client })];
  }
  if (!hooks.length) {
    options.logger?.info(
      'GitHub redelivery is off: with GITHUB_TOKEN there is no App webhook to list; set github.redelivery.repositoryHooks to owner/repo:hookId to watch repository webhooks',
    );
    return [];
  }
  // The token's client, made as createGitHubAccess makes it (same defaults, same throttling identity).
  const token = GITHUB_TOKEN ?? '';
  registerSecret(token);
  const client = new GitHubOctokit({
    ...octokitDefaults({ baseUrl, logger: options.logger, redis: options.redis }, throttleId({ token })),
    auth: token,
  });
  return hooks.map((source) => createGitHubRedelivery({ ...common, client, source }));
}
