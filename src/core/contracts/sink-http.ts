/**
 * What the reply sinks share: a retry loop (exponential backoff, Retry-After honoured, at most three
 * tries) that ends in a DeckhandError safe to show, the edit throttle, and the fetch transports handed
 * to the platforms' libraries.
 * Error messages name the operation, never the URL: Discord and Slack put tokens in URLs.
 */
import pLimit from 'p-limit';
import pRetry, { AbortError } from 'p-retry';
import { DeckhandError } from '../errors.js';
import { redactText } from '../redact.js';

export interface RetryOptions {
  /** Attempts in all, first one included (default 3). */
  tries?: number;
  /** Wait before the second try; doubled for each further try (default 500 ms). */
  baseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails as retryable (default 60 s). */
  maxRetryAfterMs?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** Replaceable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** The outcome of one attempt. `retryAfterMs` is what the platform asked us to wait. */
export type Attempt<T> =
  | { ok: true; value: T }
  | { ok: false; retry: boolean; reason: string; retryAfterMs?: number | undefined; cause?: unknown };

export const DEFAULT_TRIES = 3;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function upstreamError(what: string, reason: string, retryable: boolean, cause: unknown): DeckhandError {
  const message = retryable
    ? `${what} failed: ${reason}. Try again in a minute.`
    : `${what} failed: ${reason}.`;
  return new DeckhandError('UPSTREAM_FAILED', redactText(message), { retryable, cause });
}

/** A retryable failure of one attempt, carried through p-retry to the wait decision. */
class RetryableAttempt extends Error {
  constructor(readonly failure: { reason: string; retryAfterMs?: number | undefined; cause?: unknown }) {
    super(failure.reason);
  }
}

/**
 * Runs `attempt` until it succeeds, says the failure is permanent, or has been tried `tries` times.
 * A thrown error (network failure, timeout) counts as retryable.
 */
export async function withRetries<T>(
  what: string,
  attempt: () => Promise<Attempt<T>>,
  options: RetryOptions = {},
): Promise<T> {
  const tries = Math.max(1, options.tries ?? DEFAULT_TRIES);
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const sleep = options.sleep ?? defaultSleep;
  return pRetry(
    async () => {
      let result: Attempt<T>;
      try {
        result = await attempt();
      } catch (cause) {
        if (cause instanceof DeckhandError) throw new AbortError(cause);
        result = { ok: false, retry: true, reason: networkReason(cause), cause };
      }
      if (result.ok) return result.value;
      if (!result.retry) throw new AbortError(upstreamError(what, result.reason, false, result.cause));
      throw new RetryableAttempt(result);
    },
    {
      retries: tries - 1,
      // The wait is ours (Retry-After or the backoff, through the replaceable sleep), so p-retry's is 0.
      minTimeout: 0,
      async onFailedAttempt({ error, attemptNumber, retriesLeft }) {
        if (!(error instanceof RetryableAttempt)) throw error;
        const { reason, retryAfterMs, cause } = error.failure;
        if (retriesLeft === 0) {
          throw upstreamError(what, `${reason} (gave up after ${tries} tries)`, true, cause);
        }
        const wait = retryAfterMs ?? baseDelayMs * 2 ** (attemptNumber - 1);
        if (wait > maxRetryAfterMs) {
          const seconds = Math.ceil(wait / 1000);
          throw upstreamError(what, `${reason}, rate limited for ${seconds} s`, true, cause);
        }
        await sleep(wait);
      },
    },
  );
}

function networkReason(cause: unknown): string {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return 'the request timed out';
  }
  return 'network error';
}

/** Retry-After as milliseconds: delta-seconds (fractions allowed) or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** 429 and 5xx are worth another try; other failures are not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Cuts `text` to at most `max` characters, ending with `marker`, without splitting a surrogate pair. */
export function truncateText(text: string, max: number, marker = '\n… (truncated)'): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max - marker.length);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut) + marker;
}

/** Runs async operations one at a time, in call order; a failure does not block later calls. */
export function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  const limit = pLimit(1);
  return <T>(fn: () => Promise<T>): Promise<T> => limit(fn);
}

/** The subset of a pino logger the sinks use. */
export interface SinkLogger {
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

/** Characters set aside for the closing fence a split adds. */
const FENCE_CLOSE = '\n```';

/** The fence a line leaves open after `open` (undefined: none), counting every ``` on the line. */
function fenceAfter(line: string, open: string | undefined): string | undefined {
  let state = open;
  let from = 0;
  for (;;) {
    const at = line.indexOf('```', from);
    if (at < 0) return state;
    if (state) {
      state = undefined;
    } else {
      // Reopen with the same language tag so highlighting survives the split (```python).
      const tag = /^```([A-Za-z0-9_+-]*)/.exec(line.slice(at))?.[1] ?? '';
      state = line.slice(0, at).trim() === '' ? `\`\`\`${tag}` : '```';
    }
    from = at + 3;
  }
}

/**
 * Splits `text` into messages of at most `max` characters, at line breaks where possible (then at a
 * space, then anywhere), closing a code block at the end of a part and reopening it in the next, so
 * each part renders on its own.
 */
export function splitMessage(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const parts: string[] = [];
  let rest = text;
  let open: string | undefined;
  while (rest.length > 0) {
    const prefix = open ? `${open}\n` : '';
    if (prefix.length + rest.length <= max) {
      parts.push(prefix + rest);
      break;
    }
    const budget = Math.max(1, max - prefix.length - FENCE_CLOSE.length);
    let cut = rest.lastIndexOf('\n', budget);
    if (cut < budget / 2) cut = rest.lastIndexOf(' ', budget);
    if (cut < budget / 2) cut = budget;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    const piece = rest.slice(0, cut);
    rest = rest.slice(cut).replace(/^[\n ]/, '');
    let state = open;
    for (const line of piece.split('\n')) state = fenceAfter(line, state);
    parts.push(prefix + piece + (state ? FENCE_CLOSE : ''));
    open = state;
  }
  return parts;
}

export interface EditThrottleOptions {
  /** Least time between two edits of one message. */
  intervalMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Edits of one message, at most one per interval, in call order. An edit still waiting when a newer
 * one arrives is dropped (the newer text replaces it), so the last text is always the one shown.
 */
export function createEditThrottle(options: EditThrottleOptions) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  type State = { last: number; generation: number; queue: ReturnType<typeof serialQueue> };
  const messages = new Map<string, State>();
  const stateOf = (id: string): State => {
    let state = messages.get(id);
    if (!state) {
      state = { last: Number.NEGATIVE_INFINITY, generation: 0, queue: serialQueue() };
      messages.set(id, state);
    }
    return state;
  };
  return {
    /** Records that message `id` was just posted: its first edit waits one interval. */
    posted(id: string): void {
      stateOf(id).last = now();
    },
    /** Runs `send` for message `id` once its turn and the interval have come, unless superseded. */
    async edit(id: string, send: () => Promise<void>): Promise<void> {
      const state = stateOf(id);
      const generation = ++state.generation;
      await state.queue(async () => {
        if (generation !== state.generation) return; // superseded while queued
        const wait = state.last + options.intervalMs - now();
        if (wait > 0) await sleep(wait);
        if (generation !== state.generation) return; // superseded while waiting
        state.last = now();
        await send();
      });
    },
  };
}

export type EditThrottle = ReturnType<typeof createEditThrottle>;

/**
 * A transport for REST clients that wait a 429 out by its Retry-After header (whole seconds), such
 * as @discordjs/rest: the global fetch, with one adjustment. The client waits a 429 out by its
 * Retry-After header (whole seconds); Discord's body says `retry_after` to the millisecond, and some
 * proxies and stand-ins send only the body. The body's value, when there is one, becomes the header.
 */
export async function fetchWithBodyRetryAfter(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.status !== 429) return response;
  const text = await response.text();
  let retryAfter: unknown;
  try {
    retryAfter = (JSON.parse(text) as { retry_after?: unknown }).retry_after;
  } catch {
    // Not JSON: the header, if any, stands.
  }
  const headers = new Headers(response.headers);
  if (typeof retryAfter === 'number' && retryAfter >= 0) headers.set('retry-after', String(retryAfter));
  return new Response(text, { status: response.status, statusText: response.statusText, headers });
}

/**
 * The global fetch, looked up on every call: the transport handed to a library's client
 * (@slack/web-api, @slack/webhook) so an interceptor a test installs later still sees its requests.
 */
export const globalFetch: typeof fetch = (input, init) => fetch(input, init);
