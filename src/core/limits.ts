/**
 * Rate limits per user and per workspace. With REDIS_URL they are shared by every replica
 * (rate-limiter-flexible on Redis); without it they live in this process, which is correct for the
 * single-process embedded setup.
 */
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';

export interface RateLimitSettings {
  userPerMinute: number;
  workspacePerMinute: number;
}

export type RateDecision = { ok: true } | { ok: false; retryInSeconds: number; scope: 'user' | 'workspace' };

export function createRateLimits(settings: RateLimitSettings, redis?: Redis) {
  const make = (keyPrefix: string, points: number): RateLimiterAbstract =>
    redis
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix,
          points,
          duration: 60,
          useRedisPackage: false,
          // Redis down: limit per process in memory rather than fail every task (fault suite, Redis stop).
          insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: 60 }),
        })
      : new RateLimiterMemory({ keyPrefix, points, duration: 60 });
  const perUser = make('deckhand:rl:user', settings.userPerMinute);
  const perWorkspace = make('deckhand:rl:ws', settings.workspacePerMinute);

  async function take(limiter: RateLimiterAbstract, key: string): Promise<number | undefined> {
    try {
      await limiter.consume(key);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rejection; // Redis errors surface; the caller decides (the worker retries the task)
    }
  }

  return {
    async consume(userKey: string, workspaceKey: string): Promise<RateDecision> {
      const user = await take(perUser, userKey);
      if (user !== undefined) return { ok: false, retryInSeconds: user, scope: 'user' };
      const workspace = await take(perWorkspace, workspaceKey);
      if (workspace !== undefined) return { ok: false, retryInSeconds: workspace, scope: 'workspace' };
      return { ok: true };
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
