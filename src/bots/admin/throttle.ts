/**
 * Throttles guessing DECKHAND_ADMIN_TOKEN: each client address may present a wrong token (sign-in
 * form or Bearer header) `failures` times per window; after that every token it presents, right or
 * wrong, is answered 429 with Retry-After until the window passes, so the answer is no oracle.
 * In memory, per process (rate-limiter-flexible): with N web replicas a client gets N times the budget,
 * still far too few guesses for a long random token.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface SignInThrottleOptions {
  /** Wrong tokens allowed per window (default 5). */
  failures?: number;
  /** The window, in seconds (default 60). */
  windowSeconds?: number;
}

export interface SignInThrottle {
  /** Seconds until this client may try again, or undefined when it may try now. */
  blockedFor(client: string): Promise<number | undefined>;
  /** Counts a wrong token. */
  failed(client: string): Promise<void>;
  /** A right token: the client's count starts again. */
  succeeded(client: string): Promise<void>;
}

export function createSignInThrottle(options: SignInThrottleOptions = {}): SignInThrottle {
  const failures = options.failures ?? 5;
  const limiter = new RateLimiterMemory({
    keyPrefix: 'deckhand:admin:sign-in',
    points: failures,
    duration: options.windowSeconds ?? 60,
  });
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

  return {
    async blockedFor(client) {
      const state = await limiter.get(client);
      return state && state.consumedPoints >= failures ? seconds(state.msBeforeNext) : undefined;
    },
    async failed(client) {
      try {
        await limiter.consume(client);
      } catch (rejection) {
        // Already over the limit: blockedFor answers from here on.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
      }
    },
    async succeeded(client) {
      await limiter.delete(client);
    },
  };
}
