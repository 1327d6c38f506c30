/**
 * The retry loop every reply sink shares, as a user sees its end: how many times a platform is
 * asked, how long it is waited for (Retry-After first), and the message the thread gets when it
 * gives up. Waits are recorded through the replaceable sleep, never measured.
 */
import { describe, expect, it } from 'vitest';
import { type Attempt, DeckhandError, serialQueue, withRetries } from '../../../src/core/index.js';

/** An attempt that answers each call with the next outcome (a thrown Error is thrown). */
function scripted<T>(outcomes: Array<Attempt<T> | Error>) {
  let calls = 0;
  const attempt = async (): Promise<Attempt<T>> => {
    const next = outcomes[Math.min(calls, outcomes.length - 1)];
    calls++;
    if (next instanceof Error) throw next;
    return next as Attempt<T>;
  };
  return { attempt, calls: () => calls };
}

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

async function failureOf(promise: Promise<unknown>): Promise<DeckhandError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeckhandError);
  return error as DeckhandError;
}

describe('withRetries', () => {
  it('tries again with a doubling backoff and returns the value once the platform answers', async () => {
    const { attempt, calls } = scripted<string>([
      { ok: false, retry: true, reason: 'HTTP 503' },
      { ok: false, retry: true, reason: 'HTTP 502' },
      { ok: true, value: 'posted' },
    ]);
    const { waits, sleep } = recordingSleep();
    await expect(withRetries('Slack chat.postMessage', attempt, { baseDelayMs: 100, sleep })).resolves.toBe(
      'posted',
    );
    expect(calls()).toBe(3);
    expect(waits).toEqual([100, 200]);
  });

  it('waits what the platform asked for in Retry-After instead of the backoff', async () => {
    const { attempt } = scripted<string>([
      { ok: false, retry: true, reason: 'rate limited', retryAfterMs: 1500 },
      { ok: true, value: 'posted' },
    ]);
    const { waits, sleep } = recordingSleep();
    await withRetries('Discord message', attempt, { baseDelayMs: 100, sleep });
    expect(waits).toEqual([1500]);
  });

  it('gives up after the last try with a message that says to try again', async () => {
    const { attempt, calls } = scripted<string>([{ ok: false, retry: true, reason: 'HTTP 503' }]);
    const { waits, sleep } = recordingSleep();
    const error = await failureOf(withRetries('Slack chat.postMessage', attempt, { tries: 3, sleep }));
    expect(calls()).toBe(3);
    expect(waits).toHaveLength(2);
    expect(error.code).toBe('UPSTREAM_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toBe(
      'Slack chat.postMessage failed: HTTP 503 (gave up after 3 tries). Try again in a minute.',
    );
  });

  it('stops at once on a permanent failure, without the advice to try again', async () => {
    const { attempt, calls } = scripted<string>([{ ok: false, retry: false, reason: 'channel_not_found' }]);
    const { waits, sleep } = recordingSleep();
    const error = await failureOf(withRetries('Slack chat.postMessage', attempt, { sleep }));
    expect(calls()).toBe(1);
    expect(waits).toEqual([]);
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe('Slack chat.postMessage failed: channel_not_found.');
  });

  it('does not wait out a Retry-After longer than the limit and says how long it was', async () => {
    const { attempt, calls } = scripted<string>([
      { ok: false, retry: true, reason: 'rate limited', retryAfterMs: 120_000 },
    ]);
    const { waits, sleep } = recordingSleep();
    const error = await failureOf(withRetries('GitHub comment', attempt, { maxRetryAfterMs: 60_000, sleep }));
    expect(calls()).toBe(1);
    expect(waits).toEqual([]);
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toBe(
      'GitHub comment failed: rate limited, rate limited for 120 s. Try again in a minute.',
    );
  });

  it('counts a thrown network error or timeout as retryable and names a timeout', async () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const { attempt, calls } = scripted<string>([new Error('ECONNRESET'), timeout]);
    const { sleep } = recordingSleep();
    const error = await failureOf(withRetries('Slack response_url', attempt, { tries: 2, sleep }));
    expect(calls()).toBe(2);
    expect(error.userMessage).toBe(
      'Slack response_url failed: the request timed out (gave up after 2 tries). Try again in a minute.',
    );
  });

  it('passes a typed error from the attempt through unchanged, without trying again', async () => {
    const refused = new DeckhandError('BAD_REQUEST', 'That message is too long for Slack.');
    const { attempt, calls } = scripted<string>([refused]);
    await expect(withRetries('Slack chat.postMessage', attempt, recordingSleep())).rejects.toBe(refused);
    expect(calls()).toBe(1);
  });

  it('tries once when asked for a single try', async () => {
    const { attempt, calls } = scripted<string>([{ ok: false, retry: true, reason: 'HTTP 500' }]);
    const error = await failureOf(withRetries('Discord edit', attempt, { tries: 1, ...recordingSleep() }));
    expect(calls()).toBe(1);
    expect(error.userMessage).toContain('(gave up after 1 tries)');
  });
});

describe('serialQueue', () => {
  it('runs calls one at a time in call order, and a failure does not block the next', async () => {
    const queue = serialQueue();
    const log: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = queue(async () => {
      log.push('first starts');
      await gate;
      log.push('first ends');
      throw new Error('first failed');
    });
    const second = queue(async () => {
      log.push('second runs');
      return 2;
    });
    // Everything already runnable has run by the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['first starts']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    expect(log).toEqual(['first starts', 'first ends', 'second runs']);
  });
});
