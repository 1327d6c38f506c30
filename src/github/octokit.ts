/**
 * The one Octokit class every GitHub client in Deckhand is made from (as probot's ProbotOctokit):
 * @octokit/rest with @octokit/plugin-retry (5xx, network) and @octokit/plugin-throttling (primary and
 * secondary rate limits, and GitHub's advice to space out writes), plus the defaults they share.
 *
 * Throttling state (the write spacing, the concurrency caps) lives in Bottleneck limiters. With Redis
 * (REDIS_URL) those limiters keep their state there, so every process acting as the same App or token
 * spaces its writes together, as probot's get-octokit-throttle-options does; without Redis they are
 * in memory, per process. Those Redis limiters must survive Redis going away and coming back empty
 * (it keeps no data): see unprefixScriptSignals and revive.
 */
import { createHash } from 'node:crypto';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import Bottleneck from 'bottleneck';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';

export const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHubOctokitClient = InstanceType<typeof GitHubOctokit>;

/** Waiting longer than this for a primary rate limit to reset fails the request instead. */
const MAX_RATE_LIMIT_WAIT_SECONDS = 300;

export interface GitHubOctokitOptions {
  /** GitHub Enterprise Server or a test server, e.g. https://ghe.example.com/api/v3. */
  baseUrl?: string | undefined;
  logger?: Logger | undefined;
  /** Passed to @octokit/plugin-throttling (e.g. `{ enabled: false }` in tests). */
  throttle?: { enabled?: boolean; retryAfterBaseValue?: number } | undefined;
  /** Passed to @octokit/plugin-retry. */
  retry?: { enabled?: boolean; retries?: number; retryAfterBaseValue?: number } | undefined;
  /** When set, throttling state is shared through this Redis with every process using it. */
  redis?: Redis | undefined;
}

/**
 * The identity whose limits are shared: the App (all its installations write through one spacing, as
 * in probot) or the personal token (a hash, never the token itself, since it names Redis keys).
 */
export function throttleId(identity: { appId?: string | number | undefined; token?: string | undefined }) {
  if (identity.appId) return `deckhand-app-${identity.appId}`;
  const hash = createHash('sha256')
    .update(identity.token ?? '')
    .digest('hex');
  return `deckhand-token-${hash.slice(0, 16)}`;
}

/**
 * plugin-throttling's limiter groups, with its ids and settings (so processes still on its own groups
 * share the same Redis keys), made here so they can be revived when Redis comes back (see below).
 */
const GROUPS = {
  global: { maxConcurrent: 10 },
  auth: { maxConcurrent: 1 },
  search: { maxConcurrent: 1, minTime: 2000 },
  write: { maxConcurrent: 1, minTime: 1000 },
  notifications: { maxConcurrent: 1, minTime: 3000 },
} as const;
type GroupName = keyof typeof GROUPS;
type Groups = Record<GroupName, Bottleneck.Group>;
/** plugin-throttling's default: how long Redis keeps an idle limiter's keys. */
const GROUP_TIMEOUT_MS = 2 * 60_000;

interface SharedThrottling {
  connection: Bottleneck.IORedisConnection;
  groups: Groups;
}

/**
 * One Bottleneck connection and one set of groups per Redis client. The connection's own subscriber
 * closes when the Redis client it was made from does.
 */
const sharedByRedis = new WeakMap<Redis, SharedThrottling>();

/**
 * Bottleneck (2.19.5) recovers from a Redis that lost its keys by matching the errors its scripts
 * return: SETTINGS_KEY_NOT_FOUND re-creates the limiter's settings, UNKNOWN_CLIENT registers the
 * process again. Redis 7 prefixes such script errors with "ERR ", so the exact match fails and every
 * call of the limiter fails from then on (SGrondin/bottleneck#205, #219). This strips the prefix from
 * those signals (and OVERWEIGHT, which Bottleneck parses the same way) before Bottleneck sees them.
 */
const BOTTLENECK_SIGNAL = /^ERR ((?:SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT|OVERWEIGHT)\b.*)$/s;

type ScriptCallback = (error: Error | null | undefined, replies?: unknown) => void;
/** The one internal of IORedisConnection used here: the function that runs a named Lua script. */
interface ScriptRunner {
  __scriptFn__?: (name: string) => (...args: unknown[]) => unknown;
}

function unprefixScriptSignals(connection: Bottleneck.IORedisConnection, log: Logger | undefined): void {
  const runner = connection as unknown as ScriptRunner;
  const scriptFn = runner.__scriptFn__?.bind(connection);
  if (!scriptFn) {
    log?.warn('GitHub throttling: this Bottleneck has no __scriptFn__; Redis 7 error signals are not fixed');
    return;
  }
  runner.__scriptFn__ = (name) => {
    const run = scriptFn(name);
    return (...args: unknown[]) => {
      const done = args.pop() as ScriptCallback;
      return run(...args, (error: Error | null | undefined, replies?: unknown) => {
        const signal = error ? BOTTLENECK_SIGNAL.exec(error.message) : null;
        done(signal?.[1] ? new Error(signal[1], { cause: error }) : error, replies);
      });
    };
  };
}

/**
 * Brings every limiter back after Redis was away. A limiter whose setup failed while Redis was down
 * would fail every job for good: it is dropped, and the next request makes a new one (dropping also
 * deletes that limiter's keys; a restart lost them anyway, else other processes re-create them). Any other
 * limiter runs one script, which re-creates its keys if a restart lost them and registers this process
 * again; its next heartbeat (every 5 s) then publishes the capacity that drains jobs queued here
 * while Redis was away. Without this, such a limiter's heartbeat skips the missing keys silently, its
 * queued jobs wait, and the group's cleanup (every minute) drops the limiter with them still queued.
 */
async function revive(groups: Groups, log: Logger | undefined): Promise<void> {
  const limiters = Object.values(groups).flatMap((group) =>
    group.limiters().map(({ key, limiter }) => ({ group, key, limiter })),
  );
  await Promise.all(
    limiters.map(async ({ group, key, limiter }) => {
      const setUp = await limiter.ready().then(
        () => true,
        () => false,
      );
      try {
        if (setUp) await limiter.running();
        else await group.deleteKey(key);
      } catch (error) {
        log?.warn({ err: error, key }, 'GitHub throttling: could not revive a limiter after Redis came back');
      }
    }),
  );
}

function sharedThrottling(redis: Redis, log: Logger | undefined): SharedThrottling {
  const known = sharedByRedis.get(redis);
  if (known) return known;
  const connection = new Bottleneck.IORedisConnection({ client: redis });
  connection.on('error', (error: unknown) => log?.warn({ err: error }, 'GitHub throttling: Redis error'));
  unprefixScriptSignals(connection, log);
  const groups = Object.fromEntries(
    Object.entries(GROUPS).map(([name, settings]) => {
      const group = new Bottleneck.Group({
        id: `octokit-${name}`,
        ...settings,
        timeout: GROUP_TIMEOUT_MS,
        connection,
      });
      // A limiter made while Redis is down: revive it once Redis is back (now, if it already is).
      group.on('created', (limiter, key) => {
        // A failed drain, heartbeat or cleanup (every few seconds while Redis is down): the Redis
        // client's own errors are logged as warnings above.
        limiter.on('error', (error: unknown) =>
          log?.debug({ err: error, key }, 'GitHub throttling: limiter error'),
        );
        limiter.ready().catch(() => {
          if (redis.status === 'ready') void revive(groups, log);
        });
      });
      return [name, group];
    }),
  ) as Groups;
  let away = false;
  redis.on('close', () => {
    away = true;
  });
  redis.on('ready', () => {
    if (!away) return;
    away = false;
    void revive(groups, log);
  });
  // connection.disconnect() would disconnect `redis` a second time; ioredis then arms its 2 s "stream
  // still open" timer on the closed socket, holding the process at exit. Close only Bottleneck's subscriber.
  redis.once('end', () =>
    (connection as unknown as { subscriber?: { disconnect(): void } }).subscriber?.disconnect(),
  );
  const made = { connection, groups };
  sharedByRedis.set(redis, made);
  return made;
}

/** Options for GitHubOctokit (its constructor or `.defaults`): base URL, throttling, retries, logs. */
export function octokitDefaults(options: GitHubOctokitOptions, id: string) {
  const log = options.logger?.child({ part: 'github' });
  // plugin-throttling takes the groups to use from its options (global and auth too, though its types
  // list only the others); the connection tells it the limiters are shared (job expirations).
  const redisState = options.redis ? sharedThrottling(options.redis, log) : undefined;
  const shared = redisState ? { Bottleneck, connection: redisState.connection, ...redisState.groups } : {};
  const throttle = {
    ...shared,
    id,
    ...options.throttle,
    onRateLimit: (
      retryAfter: number,
      request: { method: string; url: string },
      _o: unknown,
      count: number,
    ) => {
      const wait = retryAfter <= MAX_RATE_LIMIT_WAIT_SECONDS && count < 2;
      log?.warn({ retryAfter, method: request.method, url: request.url, wait }, 'GitHub rate limit reached');
      return wait;
    },
    onSecondaryRateLimit: (
      retryAfter: number,
      request: { method: string; url: string },
      _o: unknown,
      count: number,
    ) => {
      log?.warn({ retryAfter, method: request.method, url: request.url }, 'GitHub secondary rate limit');
      return count < 3;
    },
  };
  const quiet = () => {};
  return {
    ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, '') } : {}),
    throttle,
    ...(options.retry ? { retry: options.retry } : {}),
    log: {
      debug: quiet,
      info: quiet,
      warn: (message: string) => log?.warn(message),
      error: (message: string) => log?.error(message),
    },
  };
}
