/**
 * The parts of `deckhand start`'s clean stop that are not about Deckhand itself: closing the HTTP
 * server with its keep-alive sockets, bounding a step by a deadline, and making sure the process
 * really ends once everything is closed. Kept apart from start.ts so each stays short and testable.
 *
 * Why the last step exists: Agenda 6.2.6 leaves timers behind that nothing can reach or unref (its
 * JobProcessor waits `lockLifetime / 2`, 5 minutes by default, after every job run it watched, and
 * arms a timer for jobs due within `processEvery`; agenda/agenda#1786). Any `deckhand start` that had
 * run a periodic job logged "stopped" and then stayed up. Everything of ours is closed first; what
 * still holds the event loop after that is listed in the log, and only then does the process exit.
 */
import type { Server } from 'node:http';
import type { Logger } from '../core/index.js';

/** Resolves with the promise's value, or with 'timeout' after `ms`; the timer never outlives it. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops accepting connections and resolves once every one is closed. Idle keep-alive sockets (the
 * platforms keep theirs open, 65 s here) are closed as soon as their request is answered; requests
 * still in flight after `graceMs` are cut.
 */
export async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const cutoff = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearInterval(idle);
    clearTimeout(cutoff);
  }
}

/** What keeps the event loop alive now, by kind (process.getActiveResourcesInfo), counted. */
export function openResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * How long after everything is closed the process may take to end on its own: more than ioredis'
 * disconnectTimeout (2 s), the longest wait a closing client of ours is allowed.
 */
export const EXIT_WAIT_MS = 3000;

/**
 * Called once everything is closed. A process with nothing left ends on its own and this does
 * nothing (its timer does not hold the loop). If something outside our reach still holds it after
 * `waitMs`, that is logged with what is open, and the process exits with `code`.
 */
export function exitOnceClosed(log: Logger, code: number, waitMs = EXIT_WAIT_MS): void {
  log.debug({ open: openResources() }, 'closed everything; open resources');
  const timer = setTimeout(() => {
    log.warn(
      { open: openResources(), waitedMs: waitMs },
      'something still holds the process open after everything was closed; exiting anyway',
    );
    log.flush();
    process.exit(code);
  }, waitMs);
  timer.unref();
}
