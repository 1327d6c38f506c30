/**
 * Connection to MongoDB (or anything that speaks its wire protocol: Atlas, FerretDB).
 * Retries with backoff because the server often starts alongside us (compose, CI), and fails with a
 * message naming the host only: the URI's password must never reach a log or a terminal.
 */
import mongoose, { type Connection } from 'mongoose';
import { DeckhandError } from '../core/errors.js';

export interface ConnectOptions {
  retries?: number;
  /** First backoff delay; doubled each attempt. */
  retryDelayMs?: number;
  serverSelectionTimeoutMs?: number;
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

export async function connectMongo(uri: string, options: ConnectOptions = {}): Promise<Connection> {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) {
    throw new DeckhandError(
      'CONFIG_INVALID',
      'MONGODB_URI must start with mongodb:// or mongodb+srv:// (for example mongodb://127.0.0.1:27017/deckhand).',
    );
  }
  const retries = options.retries ?? 5;
  let delay = options.retryDelayMs ?? 250;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const connection = mongoose.createConnection(uri, {
      dbName: databaseOf(uri) ?? 'deckhand',
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
      autoIndex: false, // indexes are built once, explicitly, by ensureIndexes at start
      autoCreate: false,
      // While the server is away, fail each operation after server selection (serverSelectionTimeoutMS)
      // instead of parking it in mongoose's buffer: callers answer 503 or retry on their own schedule.
      bufferCommands: false,
    });
    try {
      await connection.asPromise();
      return connection;
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      await connection.close().catch(() => undefined);
      if (attempt < retries) {
        options.onRetry?.(attempt + 1, lastError);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
  const host = describeMongoUri(uri);
  throw new DeckhandError(
    'STORE_UNREACHABLE',
    `Cannot reach the database at ${host} after ${retries + 1} attempts. Check MONGODB_URI, or run scripts/services.sh up for a local server.`,
    { cause: lastError, retryable: true, detail: lastError?.message.replaceAll(uri, host) },
  );
}
