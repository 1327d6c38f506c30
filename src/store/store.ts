/**
 * The store: one mongoose connection, the models registered on it, and the repository functions
 * every other folder uses. Nothing outside src/store imports mongoose.
 */
import type { Connection } from 'mongoose';
import { type ConnectOptions, connectMongo, describeMongoUri, watchConnection } from './connection.js';
import { type Models, registerModels } from './models/index.js';
import { type AccountKey, accessRepo, type WorkspaceKey } from './repo/access.js';
import { adminRepo } from './repo/admin.js';
import { adminSessionRepo } from './repo/admin-sessions.js';
import { approvalRepo } from './repo/approvals.js';
import { conversationRepo } from './repo/conversations.js';
import { deliveryRepo } from './repo/deliveries.js';
import { digestRepo } from './repo/digests.js';
import { installationRepo } from './repo/installations.js';
import { recordRepo } from './repo/records.js';
import { replyAnchorRepo } from './repo/reply-anchors.js';
import { type TaskQueueOptions, taskRepo } from './repo/tasks.js';
import { createSecretBox, type SecretBox } from './secret-box.js';

export interface StoreOptions extends ConnectOptions, Partial<TaskQueueOptions> {
  uri: string;
  /** Build declared indexes before returning (default true). */
  ensureIndexes?: boolean;
  /** Reopen the connection after it has been disconnected this long (default 30 s; 0: never). */
  reopenAfterMs?: number;
  /** Encrypts stored credentials (DECKHAND_SECRET_KEY); unset: stored as given. See secret-box.ts. */
  secretKey?: string | undefined;
  /** Keys that still open stored credentials, not seal them (DECKHAND_SECRET_KEY_PREVIOUS, comma-separated). */
  previousSecretKeys?: string | undefined;
  /** Told when the connection was reopened, or why reopening failed (for the log). */
  onReopen?: (outcome: 'reopened' | Error) => void;
}

function buildStore(
  connection: Connection,
  models: Models,
  host: string,
  queue: TaskQueueOptions,
  box: SecretBox,
  watchdog?: { stop(): void },
) {
  const conversations = conversationRepo(models);
  return {
    host,
    models,
    ...deliveryRepo(models),
    ...installationRepo(models, box),
    ...accessRepo(models, box),
    ...approvalRepo(models),
    ...replyAnchorRepo(models),
    ...taskRepo(models, queue),
    ...conversations,
    ...recordRepo(models),
    ...digestRepo(models),
    ...adminRepo(models),
    ...adminSessionRepo(models),

    /**
     * Creates the declared indexes. Safe to call repeatedly. On FerretDB only the unique ones: they
     * are the dedupe keys, while a query there uses no index but `_id` (FerretDB v1 pushes down
     * nothing else), so the others would only make every insert and update slower.
     */
    async ensureIndexes(): Promise<void> {
      const ferret = (await this.ping().catch(() => undefined))?.server.startsWith('FerretDB') ?? false;
      for (const model of Object.values(models)) {
        await model.createCollection().catch(() => undefined);
        if (!ferret) {
          await model.createIndexes();
          continue;
        }
        for (const [fields, options] of model.schema.indexes())
          if (options?.unique) await model.collection.createIndex(fields, options);
      }
    },

    async ping(): Promise<{ ok: boolean; server: string }> {
      const db = connection.db;
      if (!db) return { ok: false, server: 'not connected' };
      const info = await db.admin().command({ buildInfo: 1 });
      const version = String(info.version ?? '?');
      const ferret = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : undefined;
      return {
        ok: true,
        server: ferret ? `FerretDB ${ferret} (MongoDB ${version} wire)` : `MongoDB ${version}`,
      };
    },

    /** The underlying database handle, for Agenda's mongo backend. */
    get db() {
      const db = connection.db;
      if (!db) throw new Error('store is not connected');
      return db;
    },

    async dropDatabase(): Promise<void> {
      await connection.dropDatabase();
    },

    async close(): Promise<void> {
      watchdog?.stop();
      // Window updates in flight would fail against a closed connection (harmless, but noisy).
      // A race, not a signal: the updates cannot be aborted, only waited for up to 5 s.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        conversations.settleThreadWindows(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 5000);
        }),
      ]);
      clearTimeout(timer);
      await connection.close();
    },
  };
}

export type Store = ReturnType<typeof buildStore>;

/**
 * The store as the one policy's facts (src/core createAccess): stored roles, GitHub links and
 * repository connections, and where decisions are written down.
 */
export function accessPortsOf(store: Store) {
  return {
    roleOf: (workspace: WorkspaceKey, userId: string) => store.roleOf(workspace, userId),
    githubLinkOf: (account: AccountKey) => store.githubLinkOf(account),
    isRepoConnected: (workspace: WorkspaceKey, repo: string) => store.isRepoConnected(workspace, repo),
    recordAudit: (entry: Parameters<Store['recordAudit']>[0]) => store.recordAudit(entry),
  };
}

export async function openStore(options: StoreOptions): Promise<Store> {
  // First, so a key that is too short is refused before anything connects.
  const box = createSecretBox(options.secretKey, options.previousSecretKeys);
  const connection = await connectMongo(options.uri, options);
  const models = registerModels(connection);
  const reopenAfterMs = options.reopenAfterMs ?? 30_000;
  const watchdog =
    reopenAfterMs > 0
      ? watchConnection(connection, {
          afterMs: reopenAfterMs,
          ...(options.onReopen ? { onReopen: options.onReopen } : {}),
        })
      : undefined;
  const store = buildStore(
    connection,
    models,
    describeMongoUri(options.uri),
    {
      retryBaseMs: options.retryBaseMs ?? 2000,
      defaultMaxAttempts: options.defaultMaxAttempts ?? 3,
    },
    box,
    watchdog,
  );
  if (options.ensureIndexes !== false) await store.ensureIndexes();
  return store;
}
