/**
 * Calls a chain of models (for example Claude, then GPT) with a timeout per call, retries with
 * backoff on 429 / 5xx / 529 overloaded / timeouts / dropped connections (honouring retry-after),
 * and cancellation through an AbortSignal. A call is only retried or moved to the next model before
 * its first event: once text has reached the user, a second answer would contradict the first.
 */
import { DeckhandError, type Logger } from '../../core/index.js';
import {
  type ModelEvent,
  type ModelProvider,
  type ModelRequest,
  type ProviderName,
  splitModelId,
} from '../types.js';

export type ChainEvent = ModelEvent | { type: 'model'; modelId: string };

export interface ModelChainOptions {
  providers: Partial<Record<ProviderName, ModelProvider>>;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  maxRetryAfterMs: number;
  logger?: Logger;
  /** Waits between attempts; replaced in benchmarks. Must reject when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface ModelChain {
  /** Models this chain can reach (the provider is configured), in the order given. */
  available(modelIds: string[]): string[];
  stream(
    modelIds: string[],
    request: Omit<ModelRequest, 'model'>,
    signal: AbortSignal,
  ): AsyncIterable<ChainEvent>;
}

interface Failure {
  retry: boolean;
  /** Server-requested wait, when it said one. */
  retryAfterMs?: number;
  describe: string;
}

/** Seconds or an HTTP date in retry-after, or retry-after-ms; undefined when absent or unreadable. */
export function retryAfterOf(headers: unknown): number | undefined {
  if (!headers || typeof (headers as Headers).get !== 'function') return undefined;
  const h = headers as Headers;
  const ms = Number(h.get('retry-after-ms'));
  if (h.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = h.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function classify(error: unknown, timedOut: boolean, timeoutMs: number): Failure {
  if (timedOut) return { retry: true, describe: `no answer within ${Math.round(timeoutMs / 1000)} s` };
  const e = error as { status?: unknown; headers?: unknown; name?: string; message?: string };
  if (typeof e.status === 'number') {
    const status = e.status;
    const retryAfterMs = retryAfterOf(e.headers);
    const retry = status === 408 || status === 409 || status === 429 || status >= 500;
    const label = status === 429 ? 'rate limited' : status === 529 ? 'overloaded' : `HTTP ${status}`;
    return { retry, describe: label, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  // APIConnectionError / APIConnectionTimeoutError, or an error event in the middle of a stream.
  const name = e.name ?? '';
  if (name.includes('Connection') || name.includes('Timeout'))
    return { retry: true, describe: 'connection failed' };
  if (/overloaded|rate_limit|api_error/i.test(e.message ?? ''))
    return { retry: true, describe: 'overloaded' };
  return { retry: false, describe: name || 'error' };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createModelChain(options: ModelChainOptions): ModelChain {
  const sleep = options.sleep ?? abortableSleep;
  const log = options.logger;

  function providerFor(modelId: string): ModelProvider | undefined {
    try {
      return options.providers[splitModelId(modelId).provider];
    } catch {
      return undefined;
    }
  }

  return {
    available(modelIds) {
      return [...new Set(modelIds)].filter((id) => providerFor(id));
    },

    async *stream(modelIds, request, signal) {
      const chain = this.available(modelIds);
      const failures: string[] = [];
      for (const modelId of chain) {
        const provider = providerFor(modelId);
        if (!provider) continue;
        const { model } = splitModelId(modelId);
        // Not p-retry: each attempt yields its events to our caller as they come, which p-retry's
        // promise-returning callback cannot do; and the wait must reject when the task is cancelled.
        for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
          if (signal.aborted) throw signal.reason;
          const deadline = AbortSignal.timeout(options.timeoutMs);
          const callSignal = AbortSignal.any([signal, deadline]);
          let started = false;
          try {
            for await (const event of provider.stream({ ...request, model }, callSignal)) {
              if (!started) {
                started = true;
                yield { type: 'model', modelId };
              }
              yield event;
            }
            // The SDKs end a stream quietly when its request is aborted; that is not a whole answer.
            if (callSignal.aborted) throw callSignal.reason;
            return;
          } catch (error) {
            if (signal.aborted) throw signal.reason;
            const failure = classify(error, deadline.aborted, options.timeoutMs);
            log?.warn(
              { model: modelId, attempt, failure: failure.describe, err: error },
              'model call failed',
            );
            if (started) {
              throw new DeckhandError(
                'UPSTREAM_FAILED',
                `The model stopped in the middle of its answer (${failure.describe}). Ask again to retry.`,
                { cause: error, detail: `${modelId}: ${failure.describe}` },
              );
            }
            const waitMs =
              failure.retryAfterMs ?? options.retryBaseMs * 2 ** attempt * (0.8 + Math.random() * 0.4);
            const lastAttempt = attempt === options.maxRetries;
            if (!failure.retry || lastAttempt || waitMs > options.maxRetryAfterMs) {
              failures.push(`${modelId}: ${failure.describe}`);
              break;
            }
            await sleep(waitMs, signal);
          }
        }
      }
      throw new DeckhandError(
        'UPSTREAM_FAILED',
        chain.length === 0
          ? 'No configured model provider can serve this request. Run `deckhand doctor`.'
          : `The model is not answering right now (${failures.join('; ')}). Try again in a minute.`,
        { detail: failures.join('; ') },
      );
    },
  };
}
