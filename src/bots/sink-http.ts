/**
 * What the reply sinks share: a retry loop (exponential backoff, Retry-After honoured, at most three
 * tries) that ends in a DeckhandError safe to show, and a small JSON-over-fetch helper.
 * Error messages name the operation, never the URL: Discord and Slack put tokens in URLs.
 */
import { DeckhandError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

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
  for (let n = 1; ; n++) {
    let result: Attempt<T>;
    try {
      result = await attempt();
    } catch (cause) {
      if (cause instanceof DeckhandError) throw cause;
      result = { ok: false, retry: true, reason: networkReason(cause), cause };
    }
    if (result.ok) return result.value;
    if (!result.retry) throw upstreamError(what, result.reason, false, result.cause);
    if (n >= tries) {
      throw upstreamError(what, `${result.reason} (gave up after ${tries} tries)`, true, result.cause);
    }
    const wait = result.retryAfterMs ?? baseDelayMs * 2 ** (n - 1);
    if (wait > maxRetryAfterMs) {
      const seconds = Math.ceil(wait / 1000);
      throw upstreamError(what, `${result.reason}, rate limited for ${seconds} s`, true, result.cause);
    }
    await sleep(wait);
  }
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

export interface JsonResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON (undefined when empty). */
  body: unknown;
}

/** One HTTP request with a JSON body through the global fetch (so nock can stand in for the platform). */
export async function sendJson(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number },
): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  const response = await fetch(url, {
    method: init.method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  let body: unknown = text || undefined;
  if (text) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // Not JSON (Slack's response_url answers a bare "ok"): keep the text.
    }
  }
  return { status: response.status, headers: response.headers, body };
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
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

/** The subset of a pino logger the sinks use. */
export interface SinkLogger {
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}
