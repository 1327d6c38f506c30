/**
 * Ingest acks once insertTasks says the task is written, so insertTasks must never say so while the
 * store is gone. The driver reports a refused connection as a bulk-write error with no per-document
 * errors; read naively, that is "every document inserted" (npm run test:faults lost 37 acked events
 * that way). The database is reached through a TCP relay this test can cut, as a stopped server is.
 */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { testDatabaseUri } from '../support/store.js';

function relayTo(host: string, port: number) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return {
    async listen(): Promise<number> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    },
    /** As a database that stopped: open connections drop and new ones are refused. */
    async cut(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let store: Store | undefined;
afterAll(async () => {
  await store?.close().catch(() => undefined);
});

describe('inserting tasks while the store goes away', () => {
  it('reports an error, never an insert, once the connection is gone', async () => {
    const target = new URL(testDatabaseUri('outage'));
    const relay = relayTo(target.hostname, Number(target.port));
    const relayed = new URL(target);
    relayed.port = String(await relay.listen());
    store = await openStore({
      uri: relayed.toString(),
      retries: 1,
      serverSelectionTimeoutMs: 1500,
      reopenAfterMs: 0,
    });
    const input = (key: string) => ({
      id: store?.taskIdForDelivery('slack', key),
      kind: 'event',
      source: { platform: 'slack' as const, eventId: key },
    });
    const [before] = await store.insertTasks([input('before-outage')]);
    expect(before).toMatchObject({ task: { status: 'queued' } });

    await relay.cut();
    const outcome = await store.insertTasks([input('during-1'), input('during-2')]).then(
      (verdicts) => ({ verdicts }),
      (error: unknown) => ({ error }),
    );
    expect(outcome).toHaveProperty('error');

    // Nothing was written: the same database, reached directly, has only the first task.
    const direct = await openStore({ uri: target.toString(), retries: 1, ensureIndexes: false });
    try {
      expect(await direct.countTasks({ kind: 'event' })).toBe(1);
    } finally {
      await direct.dropDatabase().catch(() => undefined);
      await direct.close();
    }
  }, 30_000);
});
