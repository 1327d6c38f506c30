/**
 * The long-lived chat connections `deckhand start` keeps besides its HTTP port (Slack Socket Mode,
 * the Discord gateway): each adapter opens its own when configured, feeding the same parsers and
 * the same pipeline as its HTTP routes.
 */
import type { Ingest, PlatformAdapter } from '../core/index.js';

/**
 * Opens every adapter's long-lived connection (Slack Socket Mode, the Discord gateway) that is
 * configured. One that cannot connect is logged by its adapter and left off; HTTP still serves.
 */
export async function connectAdapters(adapters: readonly PlatformAdapter[], ingest: Ingest) {
  const opened = await Promise.all(adapters.map((adapter) => adapter.connect?.(ingest)));
  const connections = opened.filter((connection) => connection !== undefined);
  return {
    count: connections.length,
    async stop(): Promise<void> {
      await Promise.allSettled(connections.map((connection) => connection.stop()));
    },
  };
}
