/**
 * Warm pool: containers created and started ahead of time (create + start cost 250-400 ms on runc),
 * each waiting for one program. A run takes one and the pool refills in the background. Containers
 * are never returned: after its run a container is removed, so nothing leaks from one run to the next.
 * Idle containers older than maxIdleMs are replaced, which bounds their deadline label for the reaper.
 */
import type { Logger } from '../core/index.js';
import type { SandboxContainer } from './container.js';

export interface WarmPoolOptions {
  size: number;
  maxIdleMs: number;
  prepare: () => Promise<SandboxContainer>;
  discard: (container: SandboxContainer) => void;
  logger: Logger;
}

const MAX_BACKOFF_MS = 30_000;

export class WarmPool {
  private readonly ready: SandboxContainer[] = [];
  private inflight = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly options: WarmPoolOptions) {}

  get size(): number {
    return this.options.size;
  }

  /** Ready containers right now. */
  get warm(): number {
    return this.ready.filter((c) => c.usable).length;
  }

  /**
   * A started, unused container, or undefined when none is ready (the caller then goes cold). The
   * caller calls refill() once its run is over: creating and starting a replacement during the run
   * competes with it for the daemon and the CPU (on 2 cores a warm run went from ~35 to ~90 ms).
   */
  take(): SandboxContainer | undefined {
    this.dropStale();
    return this.ready.shift();
  }

  /** Fills the pool in the background; safe to call any time. */
  refill(): void {
    if (this.closed || this.retryTimer) return;
    while (this.ready.length + this.inflight < this.options.size) {
      this.inflight++;
      const job = this.options
        .prepare()
        .then((container) => {
          if (this.closed) {
            this.options.discard(container);
            return;
          }
          this.failures = 0;
          this.ready.push(container);
          for (const wake of this.waiters.splice(0)) wake();
        })
        .catch((error: unknown) => {
          // Docker down or the image gone: back off instead of spinning on the daemon.
          this.failures++;
          const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.failures, 6));
          this.options.logger.warn(
            { err: error, retryInMs: delay },
            'sandbox warm pool could not prepare a container',
          );
          if (!this.closed && !this.retryTimer) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = undefined;
              this.refill();
            }, delay);
            this.retryTimer.unref();
          }
        })
        .finally(() => {
          this.inflight--;
          this.pending.delete(job);
        });
      this.pending.add(job);
    }
  }

  /** Resolves when `count` containers are ready (or after timeoutMs). For benches and tests. */
  async waitWarm(count = this.options.size, timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.warm < count) {
      const left = until - Date.now();
      if (left <= 0 || this.closed) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Replaces idle containers that are too old or died while waiting. */
  dropStale(now = Date.now()): void {
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const container = this.ready[i];
      if (container && (!container.usable || now - container.createdAt > this.options.maxIdleMs)) {
        this.ready.splice(i, 1);
        this.options.discard(container);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const wake of this.waiters.splice(0)) wake();
    for (const container of this.ready.splice(0)) this.options.discard(container);
    await Promise.allSettled([...this.pending]);
  }
}
