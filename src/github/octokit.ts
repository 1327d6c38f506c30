/**
 * The one Octokit class every GitHub client in Deckhand is made from (as probot's ProbotOctokit):
 * @octokit/rest with @octokit/plugin-retry (5xx, network) and @octokit/plugin-throttling (primary and
 * secondary rate limits, and GitHub's advice to space out writes), plus the defaults they share.
 *
 * Throttling state (the write spacing, the concurrency caps) lives in Bottleneck limiters. With Redis
 * (REDIS_URL) those limiters keep their state there, so every process acting as the same App or token
 * spaces its writes together, as probot's get-octokit-throttle-options does; without Redis they are
 * in memory, per process.
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
 * One Bottleneck connection per Redis client. plugin-throttling keeps its limiter groups per process
 * (made by the first client that sends a request), so a process has one connection in any case. The
 * connection's own subscriber closes when the Redis client it was made from does.
 */
const connections = new WeakMap<Redis, Bottleneck.IORedisConnection>();

function bottleneckConnection(redis: Redis, log: Logger | undefined): Bottleneck.IORedisConnection {
  let connection = connections.get(redis);
  if (!connection) {
    const made = new Bottleneck.IORedisConnection({ client: redis });
    made.on('error', (error: unknown) => log?.warn({ err: error }, 'GitHub throttling: Redis error'));
    redis.once('end', () => void made.disconnect(false));
    connections.set(redis, made);
    connection = made;
  }
  return connection;
}

/** Options for GitHubOctokit (its constructor or `.defaults`): base URL, throttling, retries, logs. */
export function octokitDefaults(options: GitHubOctokitOptions, id: string) {
  const log = options.logger?.child({ part: 'github' });
  const shared = options.redis ? { Bottleneck, connection: bottleneckConnection(options.redis, log) } : {};
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
