/**
 * Connection to MongoDB (or anything that speaks its wire protocol: Atlas, FerretDB).
 * Retries with backoff because the server often starts alongside us (compose, CI), and fails with a
 * message naming the host only: the URI's password must never reach a log or a terminal.
 */
import mongoose, { type Connection } from 'mongoose';
import pRetry from 'p-retry';
import { DeckhandError } from '../core/index.js';

export interface ConnectOptions {
  retries?: number;
  /** First backoff delay; doubled each attempt. */
  retryDelayMs?: number;
  serverSelectionTimeoutMs?: number;
  /** No reply on a socket for this long fails the operation (default 60 s). */
  socketTimeoutMs?: number;
  onRetry?: (attempt: number, error: Error) => void;
}

/** `mongodb://user:pw@host:27017/db?x` -> `host:27017`. Never throws. */
export function describeMongoUri(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri);
  return match?.[1] ?? '(unparseable URI)';
}

function databaseOf(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}

function mongooseOptions(uri: string, options: ConnectOptions) {
  return {
    dbName: databaseOf(uri) ?? 'deckhand',
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
    autoIndex: false, // indexes are built once, explicitly, by ensureIndexes at start
    autoCreate: false,
    // While the server is away, fail each operation after server selection (serverSelectionTimeoutMS)
    // instead of parking it in mongoose's buffer: callers answer 503 or retry on their own schedule.
    bufferCommands: false,
    // An operation whose reply never comes (a server that hung or vanished without closing the
    // socket) fails after this instead of holding its caller (a claim loop, a lease renewal) forever.
    socketTimeoutMS: options.socketTimeoutMs ?? 60_000,
  };
}

/**
 * Reopens a connection that has stayed disconnected for `afterMs`. After a database restart the
 * driver usually reconnects on its own, but npm run test:faults caught one worker whose server
 * monitor never did: every operation failed server selection with the same stale "connection 3
 * closed" for minutes while the other processes were fine. Reconnecting the client is cheap next to that;
 * while the server is really down, the reopen fails and is tried again after another `afterMs`.
 */
export function watchConnection(
  connection: Connection,
  options: { afterMs: number; onReopen?: (outcome: 'reopened' | Error) => void },
): { stop(): void } {
  let downSince: number | undefined;
  let reopening = false;
  let stopped = false;
  const timer = setInterval(
    () => {
      if (stopped || reopening) return;
      if (connection.readyState === mongoose.ConnectionStates.connected) {
        downSince = undefined;
        return;
      }
      downSince ??= Date.now();
      if (Date.now() - downSince < options.afterMs) return;
      reopening = true;
      void (async () => {
        try {
          // The same MongoClient, closed and connected again: everything holding it (mongoose's
          // models, Agenda's backend through store.db) works again without being rebuilt.
          const client = connection.getClient();
          await client.close();
          if (stopped) return;
          await client.connect();
          options.onReopen?.('reopened');
        } catch (error) {
          options.onReopen?.(error instanceof Error ? error : new Error(String(error)));
        } finally {
          reopening = false;
          downSince = Date.now();
        }
      })();
    },
    Math.min(5000, Math.max(100, Math.floor(options.afterMs / 4))),
  );
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

export async function connectMongo(uri: string, options: ConnectOptions = {}): Promise<Connection> {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      'MONGODB_URI must start with mongodb:// or mongodb+srv:// (for example mongodb://127.0.0.1:27017/deckhand).',
    );
  }
  const retries = options.retries ?? 5;
  const host = describeMongoUri(uri);
  try {
    return await pRetry(
      async () => {
        const connection = mongoose.createConnection(uri, mongooseOptions(uri, options));
        try {
          return await connection.asPromise();
        } catch (error) {
          await connection.close().catch(() => undefined);
          throw error instanceof Error ? error : new Error(String(error));
        }
      },
      {
        retries,
        minTimeout: options.retryDelayMs ?? 250,
        factor: 2,
        maxTimeout: 5000,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0) options.onRetry?.(attemptNumber, error);
        },
      },
    );
  } catch (error) {
    const lastError = error instanceof Error ? error : new Error(String(error));
    throw new DeckhandError(
      'STORE_UNREACHABLE',
      `Cannot reach the database at ${host} after ${retries + 1} attempts. Check MONGODB_URI, or run scripts/services.sh up for a local server.`,
      { cause: lastError, retryable: true, detail: lastError.message.replaceAll(uri, host) },
    );
  }
}
