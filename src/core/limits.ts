/**
 * Rate limits per user and per workspace. With REDIS_URL they are shared by every replica
 * (rate-limiter-flexible on Redis); without it they live in this process, which is correct for the
 * single-process embedded setup. A refused person is told once per window (the first refusal), not
 * once per event, so a flood of events does not become a flood of "slow down" replies.
 */
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { NormalizedEvent } from './contracts/event.js';

export interface RateLimitSettings {
  userPerMinute: number;
  workspacePerMinute: number;
}

/**
 * A refusal says whether this is the person's first in the current window (`notify`: tell them);
 * later refusals in the same window are silent.
 */
export type RateDecision =
  | { ok: true }
  | { ok: false; retryInSeconds: number; scope: 'user' | 'workspace'; notify: boolean };

/**
 * The workspace id an adapter gives an event that belongs to no workspace: a direct message outside
 * any server (a Discord DM has no guild).
 */
export const NO_WORKSPACE_ID = 'dm';

/**
 * The buckets an event is counted in: the person's own, and their workspace's. An event with no
 * workspace (a direct message) has no one to share a workspace bucket with, so its workspace bucket
 * is the person's own (`discord:dm:<userId>`): one person's DMs never use up everyone else's.
 */
export function rateLimitKeys(event: Pick<NormalizedEvent, 'platform' | 'workspaceId' | 'userId'>): {
  userKey: string;
  workspaceKey: string;
} {
  const userKey = `${event.platform}:${event.userId}`;
  const workspaceKey =
    event.workspaceId === NO_WORKSPACE_ID
      ? `${event.platform}:${NO_WORKSPACE_ID}:${event.userId}`
      : `${event.platform}:${event.workspaceId}`;
  return { userKey, workspaceKey };
}

const WINDOW_SECONDS = 60;

export function createRateLimits(settings: RateLimitSettings, redis?: Redis) {
  const make = (keyPrefix: string, points: number): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix,
          points,
          duration: WINDOW_SECONDS,
          useRedisPackage: false,
          // Redis down: limit per process in memory rather than fail every task (fault suite, Redis stop).
          insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS }),
        })
      : new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
  const perUser = make('deckhand:rl:user', settings.userPerMinute);
  const perWorkspace = make('deckhand:rl:ws', settings.workspacePerMinute);
  // One point per person for as long as the refusing window lasts: whoever takes it first (on any
  // replica, with Redis) posts the notice.
  const notices = make('deckhand:rl:notice', 1);

  async function take(limiter: RateLimiterAbstract, key: string): Promise<number | undefined> {
    try {
      await limiter.consume(key);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rejection; // Redis errors surface; the caller decides (the worker retries the task)
    }
  }

  /** Whether this refusal is the person's first until the refusing window ends. */
  async function firstNotice(userKey: string, retryInSeconds: number): Promise<boolean> {
    try {
      // customDuration applies when the key is created: the notice lapses with the refusing window.
      await notices.consume(userKey, 1, { customDuration: retryInSeconds });
      return true;
    } catch (rejection) {
      // Could not tell (Redis failed past the insurance limiter): tell them rather than stay silent.
      return !(rejection instanceof RateLimiterRes);
    }
  }

  return {
    async consume(userKey: string, workspaceKey: string): Promise<RateDecision> {
      const user = await take(perUser, userKey);
      const refusal =
        user !== undefined
          ? { retryInSeconds: user, scope: 'user' as const }
          : await take(perWorkspace, workspaceKey).then((workspace) =>
              workspace === undefined
                ? undefined
                : { retryInSeconds: workspace, scope: 'workspace' as const },
            );
      if (!refusal) return { ok: true };
      return { ok: false, ...refusal, notify: await firstNotice(userKey, refusal.retryInSeconds) };
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
